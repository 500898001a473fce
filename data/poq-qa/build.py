#!/usr/bin/env python3
"""Source of truth for the poq-qa question-answering set.

Running this script writes ``poq-qa-v1.json`` next to it, in the SQuAD v1.1
JSON schema. All contexts, questions and answers below were written for this
project (license: MIT OR Apache-2.0, like the rest of the repository).

Offsets are never typed by hand. An answer is written either as

* ``"text"``: the text must occur exactly once in its context (plain substring
  count, so a match inside a longer word counts too), and ``answer_start`` is
  that occurrence; or
* ``("text", "anchor")``: the text occurs more than once, and the intended
  occurrence is the one inside ``anchor``, a longer string that occurs exactly
  once in the context and contains ``text`` exactly once.

``answer_start`` is a Python ``str`` index, that is a count of Unicode code
points (not bytes, not UTF-16 units). The output is deterministic: the same
source always gives byte-identical JSON.

Usage: python3 build.py [--report]
"""

import json
import os
import sys

VERSION = "poq-qa-1.0"
OUT_NAME = "poq-qa-v1.json"
ID_PREFIX = "poq-qa-"

MIN_WORDS, MAX_WORDS = 60, 150  # per context
MIN_QAS, MAX_QAS = 4, 6  # per paragraph
MAX_ANSWER_WORDS = 6

# Each article: (title, [paragraph, ...]); each paragraph: (context, [qa, ...]);
# each qa: (question, [answer, ...]), an answer being "text" or ("text", "anchor").
ARTICLES = [
    (
        "Water",
        [
            (
                "Water is a chemical compound made of two hydrogen atoms bonded to one "
                "oxygen atom, giving it the formula H2O. At standard atmospheric "
                "pressure, pure water freezes at 0 °C and boils at 100 °C. Unusually, "
                "liquid water is densest at about 4 °C, which is why ice floats on lakes "
                "and insulates the water beneath it. Because its molecules are polar, "
                "water dissolves many salts and sugars and is often called the universal "
                "solvent. Its high specific heat capacity lets oceans store large "
                "amounts of heat and moderate coastal climates.",
                [
                    ("What is the chemical formula of water?", ["H2O"]),
                    ("How many hydrogen atoms are in a molecule of water?", ["two"]),
                    (
                        "At what temperature does pure water boil at standard atmospheric pressure?",
                        ["100 °C"],
                    ),
                    (
                        "At roughly what temperature is liquid water at its densest?",
                        ["about 4 °C", "4 °C"],
                    ),
                    (
                        "What is water often called because it dissolves so many substances?",
                        ["the universal solvent", "universal solvent"],
                    ),
                    (
                        "Which property of water lets oceans store large amounts of heat?",
                        ["high specific heat capacity", "specific heat capacity"],
                    ),
                ],
            ),
        ],
    ),
    (
        "Marie Curie",
        [
            (
                "Marie Skłodowska Curie was a physicist and chemist born in Warsaw in "
                "1867. She moved to Paris to study at the Sorbonne, where she met the "
                "physicist Pierre Curie, whom she married in 1895. Working together on "
                "radioactivity, a term she coined, they discovered two new elements, "
                "polonium and radium. Polonium was named after her native country, "
                "Poland. In 1903 she shared the Nobel Prize in Physics, becoming the "
                "first woman to win a Nobel Prize, and in 1911 she received the Nobel "
                "Prize in Chemistry alone, making her the first person to win Nobel "
                "Prizes in two different sciences.",
                [
                    (
                        "Which physicist and chemist was born in Warsaw in 1867?",
                        ["Marie Skłodowska Curie"],
                    ),
                    ("In which city was Marie Curie born?", ["Warsaw"]),
                    (
                        "Whom did Marie Curie marry in 1895?",
                        ["Pierre Curie", "the physicist Pierre Curie"],
                    ),
                    ("Which term did Marie Curie coin?", ["radioactivity"]),
                    (
                        "Which element was named after Marie Curie's native country?",
                        ["Polonium"],
                    ),
                    (
                        "In what year did Marie Curie receive the Nobel Prize in Chemistry?",
                        ["1911"],
                    ),
                ],
            ),
        ],
    ),
    (
        "Nile",
        [
            (
                "The Nile is a major river of northeastern Africa that flows north into "
                "the Mediterranean Sea. It has two main tributaries: the White Nile, "
                "which is usually traced to the Great Lakes region of East Africa, and "
                "the Blue Nile, which begins at Lake Tana in Ethiopia. The two branches "
                "meet at Khartoum, the capital of Sudan. Downstream, the river passes "
                "through Egypt, where the Aswan High Dam controls its annual flood and "
                "holds back the vast reservoir of Lake Nasser. Before reaching the sea, "
                "the Nile spreads out into a broad, fertile delta north of Cairo.",
                [
                    (
                        "Into which sea does the Nile flow?",
                        ["the Mediterranean Sea", "Mediterranean Sea", "Mediterranean"],
                    ),
                    ("In which direction does the Nile flow?", [("north", "flows north")]),
                    (
                        "Where does the Blue Nile begin?",
                        ["Lake Tana", "Lake Tana in Ethiopia"],
                    ),
                    ("At which city do the White Nile and the Blue Nile meet?", ["Khartoum"]),
                    ("Which reservoir does the Aswan High Dam hold back?", ["Lake Nasser"]),
                    (
                        "What does the Nile spread out into north of Cairo?",
                        ["a broad, fertile delta", "delta"],
                    ),
                ],
            ),
        ],
    ),
    (
        "Photosynthesis",
        [
            (
                "Photosynthesis is the process by which plants, algae and some bacteria "
                "convert light energy into chemical energy. In plants it takes place "
                "mainly in the leaves, inside organelles called chloroplasts, which "
                "contain the green pigment chlorophyll. Using sunlight, the plant "
                "combines carbon dioxide from the air with water drawn up from the soil "
                "to make glucose, a simple sugar. Oxygen is released as a by-product. "
                "The process has two stages: the light-dependent reactions, which "
                "capture energy, and the Calvin cycle, which uses that energy to fix "
                "carbon.",
                [
                    (
                        "In which organelles does photosynthesis take place in plants?",
                        ["chloroplasts"],
                    ),
                    ("What green pigment do chloroplasts contain?", ["chlorophyll"]),
                    (
                        "Which gas does a plant take from the air during photosynthesis?",
                        ["carbon dioxide"],
                    ),
                    ("What simple sugar does photosynthesis produce?", ["glucose"]),
                    ("Which gas is released as a by-product of photosynthesis?", ["Oxygen"]),
                    (
                        "Which stage of photosynthesis uses the captured energy to fix carbon?",
                        ["the Calvin cycle", "Calvin cycle"],
                    ),
                ],
            ),
        ],
    ),
    (
        "Mathematics",
        [
            (
                "The Pythagorean theorem states that in a right-angled triangle, the "
                "square of the hypotenuse equals the sum of the squares of the other "
                "two sides. The hypotenuse is the longest side, opposite the right "
                "angle. Written as a² + b² = c², the relation is named after the Greek "
                "philosopher Pythagoras, although it was known to Babylonian "
                "mathematicians centuries earlier. A familiar example is the triangle "
                "with sides 3, 4 and 5, since 9 + 16 = 25. Whole-number solutions such "
                "as this are called Pythagorean triples.",
                [
                    (
                        "What is the longest side of a right-angled triangle called?",
                        ["The hypotenuse", ("hypotenuse", "The hypotenuse is")],
                    ),
                    ("How is the Pythagorean theorem written as a formula?", ["a² + b² = c²"]),
                    (
                        "After whom is the Pythagorean theorem named?",
                        ["Pythagoras", "the Greek philosopher Pythagoras"],
                    ),
                    (
                        "Which mathematicians knew the relation centuries before Pythagoras?",
                        ["Babylonian mathematicians", "Babylonian"],
                    ),
                    (
                        "What are the side lengths of the familiar example triangle?",
                        ["3, 4 and 5"],
                    ),
                    (
                        "What are whole-number solutions of the theorem called?",
                        ["Pythagorean triples"],
                    ),
                ],
            ),
            (
                "The number π (pi) is the ratio of a circle's circumference to its "
                "diameter. It is approximately 3.14159, and it is an irrational number, "
                "meaning that its decimal expansion never ends and never settles into a "
                "repeating pattern. In 1882 Ferdinand von Lindemann proved that π is "
                "also transcendental, which showed that the ancient problem of squaring "
                "the circle with only a compass and straightedge is impossible. The "
                "Greek mathematician Archimedes estimated π by drawing polygons with up "
                "to 96 sides inside and outside a circle. The symbol π was popularised "
                "by Leonhard Euler in the eighteenth century.",
                [
                    (
                        "The number π is the ratio of what?",
                        ["a circle's circumference to its diameter"],
                    ),
                    ("What is π approximately equal to?", ["3.14159"]),
                    (
                        "Who proved in 1882 that π is transcendental?",
                        ["Ferdinand von Lindemann", "Lindemann"],
                    ),
                    (
                        "Which ancient problem did the transcendence of π show to be impossible?",
                        ["squaring the circle"],
                    ),
                    (
                        "How many sides did the largest polygons Archimedes used have?",
                        ["96", "up to 96"],
                    ),
                    ("Who popularised the symbol π?", ["Leonhard Euler", "Euler"]),
                ],
            ),
        ],
    ),
    (
        "Great Wall of China",
        [
            (
                "The Great Wall of China is a series of fortifications built across the "
                "northern borders of ancient Chinese states to guard against raids by "
                "nomadic peoples from the steppe. Early walls were joined together under "
                "Qin Shi Huang, the first emperor of a unified China, in the third "
                "century BC. Most of the well-preserved sections seen by visitors today, "
                "built of brick and stone, date from the Ming dynasty. Contrary to a "
                "popular myth, the wall cannot be seen with the naked eye from the Moon. "
                "In 1987 it was designated a UNESCO World Heritage Site.",
                [
                    (
                        "What was the Great Wall built to guard against?",
                        ["raids by nomadic peoples", "raids"],
                    ),
                    ("Under which ruler were early walls joined together?", ["Qin Shi Huang"]),
                    (
                        "In which century were the early walls joined together?",
                        ["the third century BC", "third century BC"],
                    ),
                    (
                        "From which dynasty do most of the well-preserved sections date?",
                        ["the Ming dynasty", "Ming dynasty", "Ming"],
                    ),
                    ("What are the Ming sections of the wall built of?", ["brick and stone"]),
                    (
                        "In what year was the Great Wall designated a UNESCO World Heritage Site?",
                        ["1987"],
                    ),
                ],
            ),
        ],
    ),
    (
        "Astronomy and space flight",
        [
            (
                "Jupiter is the fifth planet from the Sun and the largest in the Solar "
                "System, with a mass more than twice that of all the other planets "
                "combined. It is a gas giant composed mainly of hydrogen and helium. Its "
                "most famous feature, the Great Red Spot, is an enormous storm wider "
                "than Earth that has been observed since at least the nineteenth "
                "century. In 1610 Galileo Galilei discovered its four largest moons, Io, "
                "Europa, Ganymede and Callisto, now known as the Galilean moons. "
                "Ganymede is the largest moon in the Solar System and is even larger in "
                "diameter than the planet Mercury.",
                [
                    (
                        "What is Jupiter's position counting outward from the Sun?",
                        ["fifth", "the fifth planet from the Sun"],
                    ),
                    ("What is Jupiter mainly composed of?", ["hydrogen and helium"]),
                    ("What is the Great Red Spot?", ["an enormous storm", "enormous storm"]),
                    (
                        "Who discovered Jupiter's four largest moons in 1610?",
                        ["Galileo Galilei", "Galileo"],
                    ),
                    (
                        "What are Jupiter's four largest moons collectively known as?",
                        ["the Galilean moons", "Galilean moons"],
                    ),
                    (
                        "What is the largest moon in the Solar System?",
                        [("Ganymede", "Ganymede is the largest")],
                    ),
                ],
            ),
            (
                "Apollo 11 was the first crewed mission to land on the Moon. Launched "
                "from Florida on a Saturn V rocket, it carried Neil Armstrong, Buzz "
                "Aldrin and Michael Collins. On 20 July 1969 the lunar module Eagle "
                "touched down in the Sea of Tranquility, and Armstrong became the first "
                "person to step onto the lunar surface, followed by Aldrin. Collins "
                "remained in lunar orbit aboard the command module Columbia. The "
                "astronauts collected about 21 kilograms of rock and soil and returned "
                "safely to Earth, splashing down in the Pacific Ocean on 24 July.",
                [
                    (
                        "Which rocket launched Apollo 11?",
                        ["a Saturn V rocket", "Saturn V"],
                    ),
                    (
                        "When did the Apollo 11 lunar module touch down on the Moon?",
                        ["20 July 1969", "July 1969", "1969"],
                    ),
                    ("What was the name of the Apollo 11 lunar module?", ["Eagle"]),
                    (
                        "Where on the Moon did the lunar module touch down?",
                        ["the Sea of Tranquility", "Sea of Tranquility"],
                    ),
                    (
                        "Which astronaut remained in lunar orbit?",
                        ["Michael Collins", ("Collins", "Collins remained")],
                    ),
                    (
                        "Where did the Apollo 11 crew splash down?",
                        ["the Pacific Ocean", "Pacific Ocean"],
                    ),
                ],
            ),
        ],
    ),
    (
        "Printing press",
        [
            (
                "Around 1440, Johannes Gutenberg, a goldsmith from Mainz, developed a "
                "printing system based on movable metal type. His method combined a "
                "hand mould for casting individual letters, an oil-based ink and a "
                "wooden press adapted from those used to make wine. The best-known book "
                "from his workshop is the Gutenberg Bible, printed in Latin and "
                "completed in the mid-1450s. Printing spread rapidly across Europe, "
                "lowering the cost of books and helping ideas travel faster during the "
                "Renaissance and the Reformation.",
                [
                    (
                        "Who developed a printing system based on movable metal type around 1440?",
                        ["Johannes Gutenberg", ("Gutenberg", "Johannes Gutenberg")],
                    ),
                    ("What was Gutenberg's trade?", ["a goldsmith", "goldsmith"]),
                    ("Which city was Gutenberg from?", ["Mainz"]),
                    ("What was Gutenberg's printing system based on?", ["movable metal type"]),
                    (
                        "What kind of ink did Gutenberg's method use?",
                        ["an oil-based ink", "oil-based ink", "oil-based"],
                    ),
                    ("In which language was the Gutenberg Bible printed?", ["Latin"]),
                ],
            ),
        ],
    ),
    (
        "Olympic Games",
        [
            (
                "The ancient Olympic Games were held at Olympia in Greece in honour of "
                "Zeus, traditionally from 776 BC. The modern Olympic Games were founded "
                "by the French educator Pierre de Coubertin, who helped establish the "
                "International Olympic Committee in 1894. The first modern Games took "
                "place in Athens in 1896. The Olympic symbol consists of five "
                "interlocking rings, coloured blue, yellow, black, green and red on a "
                "white field. The Winter Olympics were added in 1924, when the first "
                "edition was held in Chamonix, France.",
                [
                    (
                        "Where were the ancient Olympic Games held?",
                        ["Olympia", "at Olympia in Greece", "Olympia in Greece"],
                    ),
                    ("In honour of which god were the ancient Games held?", ["Zeus"]),
                    (
                        "Who founded the modern Olympic Games?",
                        ["Pierre de Coubertin", "the French educator Pierre de Coubertin"],
                    ),
                    ("In which city were the first modern Games held?", ["Athens"]),
                    ("How many rings make up the Olympic symbol?", ["five"]),
                    (
                        "Where were the first Winter Olympics held?",
                        ["Chamonix", "Chamonix, France"],
                    ),
                ],
            ),
        ],
    ),
    (
        "Cooking",
        [
            (
                "The Maillard reaction is a chemical reaction between amino acids and "
                "reducing sugars that gives browned food its distinctive flavour. It is "
                "named after the French chemist Louis-Camille Maillard, who described it "
                "in 1912. The reaction proceeds quickly at around 140–165 °C, which is "
                "why searing meat, toasting bread and roasting coffee produce rich brown "
                "colours and aromas, while boiling, which is limited to about 100 °C, "
                "does not. It is different from caramelisation, which is the browning "
                "of sugar on its own without any proteins involved.",
                [
                    (
                        "Between which substances does the Maillard reaction take place?",
                        ["amino acids and reducing sugars"],
                    ),
                    (
                        "After whom is the Maillard reaction named?",
                        ["Louis-Camille Maillard", "the French chemist Louis-Camille Maillard"],
                    ),
                    ("In what year was the Maillard reaction described?", ["1912"]),
                    (
                        "At what temperatures does the Maillard reaction proceed quickly?",
                        ["around 140–165 °C", "140–165 °C"],
                    ),
                    (
                        "Why does boiling not produce Maillard browning?",
                        ["limited to about 100 °C", "about 100 °C"],
                    ),
                    ("What is the browning of sugar on its own called?", ["caramelisation"]),
                ],
            ),
            (
                "Bread is made by mixing flour, water, salt and usually yeast into a "
                "dough. When wheat flour is kneaded with water, two proteins, glutenin "
                "and gliadin, form an elastic network called gluten, which traps gas "
                "and gives bread its structure. Yeast is a single-celled fungus that "
                "ferments sugars in the dough, producing carbon dioxide that makes it "
                "rise, along with a little alcohol, most of which evaporates during "
                "baking. Sourdough bread is leavened instead by a starter, a culture of "
                "wild yeasts and lactic acid bacteria, which also gives it a slightly "
                "sour taste.",
                [
                    (
                        "Which two proteins in wheat flour form gluten?",
                        ["glutenin and gliadin"],
                    ),
                    (
                        "What is the elastic network formed when wheat flour is kneaded with water called?",
                        [("gluten", "called gluten")],
                    ),
                    (
                        "What kind of organism is yeast?",
                        ["a single-celled fungus", "single-celled fungus", "fungus"],
                    ),
                    ("Which gas makes bread dough rise?", ["carbon dioxide"]),
                    ("What is sourdough bread leavened by?", ["a starter", "starter"]),
                    (
                        "Besides wild yeasts, what does a sourdough starter contain?",
                        ["lactic acid bacteria"],
                    ),
                ],
            ),
        ],
    ),
    (
        "Alan Turing",
        [
            (
                "Alan Turing was an English mathematician who is widely regarded as a "
                "founder of theoretical computer science. In a 1936 paper he described "
                "an abstract device, now called a Turing machine, that reads and writes "
                "symbols on an unbounded tape according to a fixed table of rules. With "
                "it he showed that some mathematical problems, such as the halting "
                "problem, cannot be solved by any algorithm. During the Second World War "
                "he worked at Bletchley Park, helping to break German ciphers produced "
                "by the Enigma machine. In 1950 he proposed an imitation game, later "
                "known as the Turing test, as a way to ask whether machines can think.",
                [
                    ("In what year did Turing describe the Turing machine?", ["1936"]),
                    (
                        "On what does a Turing machine read and write symbols?",
                        ["an unbounded tape", "unbounded tape", "tape"],
                    ),
                    (
                        "Which problem did Turing show cannot be solved by any algorithm?",
                        ["the halting problem", "halting problem"],
                    ),
                    (
                        "Where did Turing work during the Second World War?",
                        ["Bletchley Park"],
                    ),
                    (
                        "Which machine produced the German ciphers Turing helped to break?",
                        ["the Enigma machine", "Enigma machine", "Enigma"],
                    ),
                    (
                        "What did Turing's 1950 imitation game later become known as?",
                        ["the Turing test", "Turing test"],
                    ),
                ],
            ),
        ],
    ),
    (
        "Economics",
        [
            (
                "Inflation is the general rise in the prices of goods and services in an "
                "economy over time, which reduces the purchasing power of money. It is "
                "commonly measured with a consumer price index, which tracks the cost of "
                "a fixed basket of goods bought by typical households. Many central "
                "banks aim to keep inflation low and stable, often targeting a rate of "
                "around 2 percent a year. When prices fall across the economy instead, "
                "the situation is called deflation. An extreme, rapidly accelerating "
                "rise in prices is known as hyperinflation.",
                [
                    (
                        "What does inflation reduce?",
                        ["the purchasing power of money", "purchasing power"],
                    ),
                    (
                        "What is commonly used to measure inflation?",
                        ["a consumer price index", "consumer price index"],
                    ),
                    (
                        "What does a consumer price index track the cost of?",
                        ["a fixed basket of goods", "fixed basket of goods"],
                    ),
                    (
                        "What inflation rate do many central banks target?",
                        ["around 2 percent a year", "2 percent"],
                    ),
                    ("What is a general fall in prices called?", ["deflation"]),
                    (
                        "What is an extreme, rapidly accelerating rise in prices called?",
                        ["hyperinflation"],
                    ),
                ],
            ),
            (
                "The principle of comparative advantage explains why countries can gain "
                "from trade even when one of them is more efficient at producing "
                "everything. It was set out by the British economist David Ricardo in "
                "his 1817 book On the Principles of Political Economy and Taxation. "
                "Ricardo's famous example involved England and Portugal trading cloth "
                "and wine. The key idea is opportunity cost: what matters is not "
                "absolute efficiency but what a country gives up to produce each good. "
                "By specialising in goods with the lowest opportunity cost and trading, "
                "both partners can consume more than they could alone.",
                [
                    (
                        "Which economist set out the principle of comparative advantage?",
                        ["David Ricardo", "the British economist David Ricardo"],
                    ),
                    ("In what year was Ricardo's book published?", ["1817"]),
                    (
                        "Which two countries appear in Ricardo's famous example?",
                        ["England and Portugal"],
                    ),
                    ("Which goods are traded in Ricardo's example?", ["cloth and wine"]),
                    (
                        "What is the key idea behind comparative advantage?",
                        [("opportunity cost", "is opportunity cost:")],
                    ),
                ],
            ),
        ],
    ),
    (
        "Music",
        [
            (
                "Ludwig van Beethoven was a German composer and pianist, born in Bonn "
                "in 1770. He moved to Vienna as a young man, studied briefly with "
                "Joseph Haydn and became one of the most admired musicians of his time. "
                "From his late twenties he gradually lost his hearing, yet he continued "
                "to compose even after he became almost completely deaf. His works "
                "include nine symphonies, thirty-two piano sonatas and the opera "
                "Fidelio. The final movement of his Ninth Symphony sets Friedrich "
                "Schiller’s poem “Ode to Joy” for soloists and chorus.",
                [
                    ("In which city was Beethoven born?", ["Bonn"]),
                    ("With whom did Beethoven study briefly in Vienna?", ["Joseph Haydn", "Haydn"]),
                    ("How many symphonies did Beethoven write?", ["nine"]),
                    ("How many piano sonatas are among Beethoven's works?", ["thirty-two"]),
                    ("What is the name of Beethoven's opera?", ["Fidelio"]),
                    (
                        "Which poem is set in the final movement of the Ninth Symphony?",
                        ["“Ode to Joy”", "Ode to Joy", "Friedrich Schiller’s poem “Ode to Joy”"],
                    ),
                ],
            ),
            (
                "In Western staff notation, music is written on a staff of five "
                "horizontal lines. A clef at the start of the staff fixes the pitch of "
                "the lines: the treble clef (𝄞), also called the G clef, curls around "
                "the line for the G above middle C, while the bass clef (𝄢), or F "
                "clef, marks the line for the F below middle C. The time signature, such "
                "as 3/4 for a waltz, tells how many beats are in each bar. A sharp (♯) "
                "raises a note by a semitone, and a flat (♭) lowers it by a semitone.",
                [
                    ("How many lines does a musical staff have?", ["five"]),
                    ("What is the treble clef also called?", ["the G clef", "G clef"]),
                    ("What symbol is used for the bass clef?", ["𝄢"]),
                    (
                        "Which note does the bass clef mark?",
                        ["the F below middle C", "F below middle C"],
                    ),
                    ("Which time signature is typical of a waltz?", ["3/4"]),
                    (
                        "By how much does a flat lower a note?",
                        [("a semitone", "lowers it by a semitone")],
                    ),
                ],
            ),
        ],
    ),
    (
        "Human heart",
        [
            (
                "The human heart is a muscular organ about the size of a fist that pumps "
                "blood through the body. It has four chambers: two upper atria, which "
                "receive blood, and two lower ventricles, which pump it out. The right "
                "side sends oxygen-poor blood to the lungs, while the left side pumps "
                "oxygen-rich blood to the rest of the body through the aorta, the "
                "largest artery. Valves between the chambers keep blood flowing in one "
                "direction. At rest, an adult heart typically beats between 60 and 100 "
                "times a minute.",
                [
                    ("How many chambers does the human heart have?", ["four"]),
                    ("What are the upper chambers of the heart called?", ["atria", "two upper atria"]),
                    (
                        "Where does the right side of the heart send oxygen-poor blood?",
                        ["to the lungs", "the lungs", "lungs"],
                    ),
                    ("What is the largest artery?", ["the aorta", "aorta"]),
                    (
                        "What keeps blood flowing in one direction through the heart?",
                        ["Valves", "Valves between the chambers"],
                    ),
                    (
                        "How many times a minute does an adult heart typically beat at rest?",
                        ["between 60 and 100", "60 and 100"],
                    ),
                ],
            ),
        ],
    ),
    (
        "Plate tectonics",
        [
            (
                "Plate tectonics is the theory that Earth's outer shell, the "
                "lithosphere, is broken into large plates that move slowly over the "
                "hotter, more ductile asthenosphere beneath. The plates typically move a "
                "few centimetres per year, about as fast as fingernails grow. Where "
                "plates pull apart, as along the Mid-Atlantic Ridge, new crust forms "
                "from rising magma. Where they collide, as in the India–Eurasia "
                "collision, mountains such as the Himalayas rise, and where one plate "
                "slides beneath another in a process called subduction, deep ocean "
                "trenches and volcanoes form. The idea grew out of Alfred Wegener's "
                "hypothesis of continental drift, proposed in 1912.",
                [
                    ("What is Earth's outer shell called?", ["the lithosphere", "lithosphere"]),
                    (
                        "How fast do tectonic plates typically move?",
                        ["a few centimetres per year", "few centimetres per year"],
                    ),
                    (
                        "Along which feature do plates pull apart and form new crust?",
                        ["the Mid-Atlantic Ridge", "Mid-Atlantic Ridge"],
                    ),
                    (
                        "Which mountains rose where the India and Eurasia plates collide?",
                        ["the Himalayas", "Himalayas"],
                    ),
                    (
                        "What is the process in which one plate slides beneath another called?",
                        ["subduction"],
                    ),
                    (
                        "Which earlier hypothesis did plate tectonics grow out of?",
                        ["continental drift", "Alfred Wegener's hypothesis of continental drift"],
                    ),
                ],
            ),
        ],
    ),
    (
        "World Wide Web",
        [
            (
                "The World Wide Web was invented by the British computer scientist Tim "
                "Berners-Lee while he was working at CERN, the European particle "
                "physics laboratory near Geneva. In 1989 he proposed an information "
                "system that linked documents with hypertext, and by the end of 1990 he "
                "had written the first web browser and web server. The Web relies on "
                "three core technologies: HTML for describing pages, URLs for addressing "
                "them, and HTTP for transferring them. The Web runs on top of the "
                "Internet, an older global network of computers, and the two terms are "
                "not synonyms.",
                [
                    (
                        "Who invented the World Wide Web?",
                        ["Tim Berners-Lee", "the British computer scientist Tim Berners-Lee"],
                    ),
                    ("Where was the inventor of the Web working at the time?", ["CERN"]),
                    (
                        "In what year was the information system behind the Web proposed?",
                        ["1989"],
                    ),
                    ("Which technology of the Web is used for describing pages?", ["HTML"]),
                    ("Which technology of the Web is used for transferring pages?", ["HTTP"]),
                    ("What does the Web run on top of?", ["the Internet", "Internet"]),
                ],
            ),
        ],
    ),
    (
        "Sahara",
        [
            (
                "The Sahara is the largest hot desert in the world, stretching across "
                "much of North Africa from the Atlantic Ocean in the west to the Red Sea "
                "in the east. Only the cold deserts of Antarctica and the Arctic are "
                "larger. Although it is famous for its sand dunes, much of the Sahara "
                "consists of rocky plateaus and gravel plains. Its name comes from "
                "ṣaḥrāʾ, the Arabic word for desert. Rock art and ancient lake beds show "
                "that parts of the region were green and much wetter several thousand "
                "years ago, during a period known as the African Humid Period.",
                [
                    (
                        "What is the largest hot desert in the world?",
                        ["The Sahara", ("Sahara", "The Sahara is")],
                    ),
                    (
                        "Which sea lies at the eastern end of the Sahara?",
                        ["the Red Sea", "Red Sea"],
                    ),
                    (
                        "Which deserts are larger than the Sahara?",
                        ["Antarctica and the Arctic"],
                    ),
                    (
                        "Besides sand dunes, what does much of the Sahara consist of?",
                        ["rocky plateaus and gravel plains"],
                    ),
                    ("Which Arabic word does the name Sahara come from?", ["ṣaḥrāʾ"]),
                    (
                        "During which period were parts of the Sahara green and wetter?",
                        ["the African Humid Period", "African Humid Period"],
                    ),
                ],
            ),
        ],
    ),
    (
        "DNA",
        [
            (
                "Deoxyribonucleic acid, or DNA, is the molecule that carries genetic "
                "instructions in nearly all living organisms. It has the shape of a "
                "double helix, two strands wound around each other, a structure "
                "described by James Watson and Francis Crick in 1953 using X-ray "
                "diffraction images obtained by Rosalind Franklin and her colleagues. "
                "Each strand is a chain of nucleotides containing one of four bases: "
                "adenine, thymine, guanine and cytosine. Adenine pairs with thymine and "
                "guanine pairs with cytosine. In most human cells, DNA is packaged into "
                "46 chromosomes inside the nucleus.",
                [
                    ("What does the abbreviation DNA stand for?", ["Deoxyribonucleic acid"]),
                    ("What shape does DNA have?", ["a double helix", "double helix"]),
                    (
                        "Who described the structure of DNA in 1953?",
                        ["James Watson and Francis Crick"],
                    ),
                    (
                        "Whose X-ray diffraction images were used to describe the structure of DNA?",
                        ["Rosalind Franklin and her colleagues", "Rosalind Franklin"],
                    ),
                    (
                        "Which base pairs with adenine?",
                        [("thymine", "pairs with thymine")],
                    ),
                    (
                        "Into how many chromosomes is DNA packaged in most human cells?",
                        ["46", "46 chromosomes"],
                    ),
                ],
            ),
        ],
    ),
    (
        "Julius Caesar",
        [
            (
                "Julius Caesar was a Roman general and statesman whose conquest of Gaul "
                "greatly extended Roman territory. In 49 BC he led his army across the "
                "Rubicon, a small river in northern Italy, starting a civil war; the "
                "phrase “crossing the Rubicon” still means passing a point of no return. "
                "After his victory he was appointed dictator, and his reforms included "
                "the Julian calendar, which introduced a year of 365 days with an extra "
                "day every fourth year. He was assassinated by a group of senators on "
                "the Ides of March, 15 March 44 BC.",
                [
                    ("Which region did Caesar conquer?", ["Gaul"]),
                    (
                        "Which river did Caesar lead his army across in 49 BC?",
                        [
                            ("the Rubicon", "across the Rubicon"),
                            ("Rubicon", "across the Rubicon"),
                        ],
                    ),
                    (
                        "What does the phrase “crossing the Rubicon” mean?",
                        ["passing a point of no return", "a point of no return"],
                    ),
                    (
                        "Which calendar did Caesar's reforms introduce?",
                        ["the Julian calendar", "Julian calendar"],
                    ),
                    ("How many days did an ordinary year of the Julian calendar have?", ["365"]),
                    (
                        "When was Caesar assassinated?",
                        ["15 March 44 BC", "the Ides of March", "Ides of March"],
                    ),
                ],
            ),
        ],
    ),
    (
        "Light",
        [
            (
                "Light travels through a vacuum at exactly 299,792,458 metres per "
                "second, a value fixed by the definition of the metre since 1983. "
                "Nothing carrying information can travel faster. Light from the Sun "
                "takes about eight minutes to reach Earth. When light passes from one "
                "medium into another, such as from air into water, it changes speed and "
                "bends, an effect called refraction. A prism uses refraction to "
                "separate white light into a spectrum of colours, as Isaac Newton showed "
                "in experiments in the 1660s. Sound, by contrast, travels through air at "
                "only about 343 metres per second at 20 °C.",
                [
                    (
                        "What is the speed of light in a vacuum?",
                        ["299,792,458 metres per second", "299,792,458"],
                    ),
                    (
                        "Since what year has the speed of light been fixed by the definition of the metre?",
                        ["1983"],
                    ),
                    (
                        "How long does light from the Sun take to reach Earth?",
                        ["about eight minutes", "eight minutes"],
                    ),
                    (
                        "What is the bending of light as it passes into another medium called?",
                        [("refraction", "called refraction")],
                    ),
                    (
                        "Who showed that a prism separates white light into colours?",
                        ["Isaac Newton"],
                    ),
                    (
                        "How fast does sound travel through air at 20 °C?",
                        ["about 343 metres per second", "343 metres per second"],
                    ),
                ],
            ),
        ],
    ),
    (
        "Chess",
        [
            (
                "Chess is a strategy board game for two players, played on a square "
                "board of 64 squares arranged in an eight-by-eight grid. Each player "
                "begins with sixteen pieces: one king, one queen, two rooks, two "
                "bishops, two knights and eight pawns. The aim is to checkmate the "
                "opponent's king, which means placing it under attack with no legal way "
                "to escape. The game is believed to have developed from chaturanga, "
                "which was played in India around the sixth century AD. A special move "
                "called castling lets a player move the king and a rook at the same "
                "time.",
                [
                    ("How many squares are on a chessboard?", ["64"]),
                    ("How many pieces does each chess player begin with?", ["sixteen"]),
                    ("How many pawns does each player have?", [("eight", "eight pawns")]),
                    (
                        "What is the aim of chess?",
                        ["to checkmate the opponent's king", "checkmate the opponent's king"],
                    ),
                    ("From which game is chess believed to have developed?", ["chaturanga"]),
                    (
                        "Which move lets a player move the king and a rook at the same time?",
                        ["castling"],
                    ),
                ],
            ),
        ],
    ),
    (
        "Periodic table",
        [
            (
                "The periodic table arranges the chemical elements in order of "
                "increasing atomic number, the number of protons in an atom's nucleus. "
                "The Russian chemist Dmitri Mendeleev published an influential version "
                "in 1869 and left gaps for elements that had not yet been discovered, "
                "correctly predicting the properties of several of them, including "
                "gallium and germanium. Elements in the same vertical column, called a "
                "group, share similar chemical behaviour; the horizontal rows are called "
                "periods. Hydrogen, with atomic number 1, is the first element in the "
                "table.",
                [
                    (
                        "In order of what does the periodic table arrange the elements?",
                        [
                            "increasing atomic number",
                            ("atomic number", "increasing atomic number"),
                        ],
                    ),
                    (
                        "What does the atomic number count?",
                        ["the number of protons", "protons"],
                    ),
                    (
                        "Who published an influential periodic table in 1869?",
                        ["Dmitri Mendeleev", "Mendeleev", "The Russian chemist Dmitri Mendeleev"],
                    ),
                    (
                        "Name an element whose properties Mendeleev correctly predicted.",
                        ["gallium", "germanium"],
                    ),
                    ("What is a vertical column of the periodic table called?", ["a group", "group"]),
                    ("What are the horizontal rows of the periodic table called?", ["periods"]),
                ],
            ),
        ],
    ),
]


def word_count(s):
    return len(s.split())


def locate(context, answer):
    """Return (text, answer_start, note) for one answer spec; note is None when
    the text occurs exactly once, else a description of how it was chosen."""
    if isinstance(answer, tuple):
        text, anchor = answer
        n_text = context.count(text)
        if n_text < 2:
            raise ValueError(f"anchor given for {text!r}, which occurs {n_text} time(s); use a plain string")
        if context.count(anchor) != 1:
            raise ValueError(f"anchor {anchor!r} occurs {context.count(anchor)} times, want 1")
        if anchor.count(text) != 1:
            raise ValueError(f"anchor {anchor!r} contains {text!r} {anchor.count(text)} times, want 1")
        start = context.find(anchor) + anchor.find(text)
        starts = []
        i = context.find(text)
        while i != -1:
            starts.append(i)
            i = context.find(text, i + 1)
        note = (
            f"{text!r} occurs {len(starts)} times (at {starts}); "
            f"chose {start}, inside {anchor!r}"
        )
        return text, start, note
    text = answer
    n = context.count(text)
    if n == 0:
        raise ValueError(f"answer {text!r} does not occur in its context")
    if n > 1:
        raise ValueError(f"answer {text!r} occurs {n} times in its context; give an anchor")
    return text, context.find(text), None


def build():
    """Return (dataset, notes) where notes lists answers chosen among repeats."""
    data = []
    notes = []
    n = 0
    for title, paragraphs in ARTICLES:
        out_pars = []
        for context, qas in paragraphs:
            wc = word_count(context)
            if not MIN_WORDS <= wc <= MAX_WORDS:
                raise ValueError(f"{title}: context has {wc} words, want {MIN_WORDS}-{MAX_WORDS}")
            if not MIN_QAS <= len(qas) <= MAX_QAS:
                raise ValueError(f"{title}: {len(qas)} questions, want {MIN_QAS}-{MAX_QAS}")
            out_qas = []
            for question, answers in qas:
                n += 1
                qid = f"{ID_PREFIX}{n:04d}"
                out_answers = []
                seen = set()
                for answer in answers:
                    try:
                        text, start, note = locate(context, answer)
                    except ValueError as e:
                        raise ValueError(f"{qid}: {e}") from None
                    if word_count(text) > MAX_ANSWER_WORDS:
                        raise ValueError(f"{qid}: answer {text!r} has more than {MAX_ANSWER_WORDS} words")
                    if (text, start) in seen:
                        raise ValueError(f"{qid}: duplicate answer {text!r}")
                    seen.add((text, start))
                    assert context[start : start + len(text)] == text
                    if note:
                        notes.append(f"{qid} ({question}): {note}")
                    out_answers.append({"text": text, "answer_start": start})
                out_qas.append({"id": qid, "question": question, "answers": out_answers})
            out_pars.append({"context": context, "qas": out_qas})
        data.append({"title": title, "paragraphs": out_pars})
    return {"version": VERSION, "data": data}, notes


def main():
    dataset, notes = build()
    out = os.path.join(os.path.dirname(os.path.abspath(__file__)), OUT_NAME)
    with open(out, "w", encoding="utf-8", newline="\n") as f:
        json.dump(dataset, f, ensure_ascii=False, indent=2)
        f.write("\n")
    n_par = sum(len(a["paragraphs"]) for a in dataset["data"])
    qas = [q for a in dataset["data"] for p in a["paragraphs"] for q in p["qas"]]
    n_ans = sum(len(q["answers"]) for q in qas)
    print(f"wrote {out}: {len(dataset['data'])} articles, {n_par} paragraphs, "
          f"{len(qas)} questions, {n_ans} answers")
    if "--report" in sys.argv[1:]:
        print(f"{len(notes)} answers chosen among repeated occurrences:")
        for line in notes:
            print("  " + line)


if __name__ == "__main__":
    main()
