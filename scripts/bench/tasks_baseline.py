"""A simple search-then-visit baseline agent over synthesized tasks, per level.

It shows whether the levels of `simweb tasks synth` really differ in difficulty: the
agent searches the question text, visits the top five hits in order and answers from
the first page that has what it looks for, with no reasoning and no chain following:
- one-hop and chain questions: the value of the infobox line the question names
  (`What does the infobox give as the "Genre" of ...`, or the born/died/founded/released
  templates), its year when the question asks for a year;
- multi-constraint questions: the top hit's title.
Scored by exact match after SQuAD normalisation, like `simweb rollout`.

Usage: tasks_baseline.py DATA_DIR TASKS.jsonl > out.md (SIMWEB_BIN: the binary).
"""

from __future__ import annotations

import argparse
import json
import re
import string
import sys
from collections import defaultdict
from pathlib import Path
from typing import Any

import simweb

#: Search hits the agent visits, best first, until one page has the asked infobox line.
TOP_K = 5

#: The infobox keys a templated question (`In which year was X born?`) asks about.
TEMPLATE_KEYS = {
    "born": ["born", "birth date", "date of birth"],
    "die": ["died", "death date", "date of death"],
    "founded": ["founded", "established", "formation", "inception"],
    "released": ["released", "release date", "published"],
}


def normalize(text: str) -> str:
    text = text.lower()
    text = "".join(c for c in text if c not in string.punctuation)
    text = re.sub(r"\b(a|an|the)\b", " ", text)
    return " ".join(text.split())


def asked_keys(question: str) -> tuple[list[str], bool]:
    """The infobox keys the question names, and whether it asks for a year."""
    quoted = re.search(r'infobox give as the "([^"]+)"', question)
    wants_year = question.startswith("In which year") or question.find("Which year") >= 0
    if quoted:
        return [quoted.group(1).lower()], wants_year
    for word, keys in TEMPLATE_KEYS.items():
        if re.search(rf"\b{word}", question.split(". ")[-1]):
            return keys, True
    return [], wants_year


def answer_from_page(text: str, keys: list[str], wants_year: bool) -> str | None:
    for line in text.splitlines():
        key, sep, value = line.partition(": ")
        if sep and key.strip().lower() in keys:
            if wants_year:
                year = re.search(r"\b(1[0-9]{3}|20[0-9]{2})\b", value)
                return year.group(1) if year else None
            return value.strip()
    return None


def run(client: simweb.Client, task: dict[str, Any]) -> bool:
    question: str = task["question"]
    results = client.search(question, top_k=TOP_K).data.get("results", [])
    hits = results[0].get("organic", []) if results else []
    if not hits:
        return False
    prediction: str | None = None
    if task["level"] == 3:
        prediction = hits[0].get("title")
    else:
        keys, wants_year = asked_keys(question)
        for hit in hits:
            page = client.visit(hit["link"], goal=question).text
            prediction = answer_from_page(page, keys, wants_year)
            if prediction is not None:
                break
    if prediction is None:
        return False
    return normalize(prediction) in {normalize(a) for a in task["answers"]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("data_dir", type=Path)
    parser.add_argument("tasks", type=Path)
    args = parser.parse_args()
    tasks = [json.loads(line) for line in args.tasks.read_text().splitlines() if line.strip()]
    solved: dict[tuple[int, str], list[bool]] = defaultdict(list)
    with simweb.serve(args.data_dir, python=False) as server:
        client = simweb.Client(server.url)
        for task in tasks:
            solved[(task["level"], task["lang"])].append(run(client, task))
    print("| level | language | tasks | baseline pass rate |")
    print("|---|---|---|---|")
    for (level, lang), outcomes in sorted(solved.items()):
        rate = sum(outcomes) / len(outcomes)
        print(f"| {level} | {lang} | {len(outcomes)} | {rate:.0%} |")
    sys.stdout.flush()


if __name__ == "__main__":
    main()
