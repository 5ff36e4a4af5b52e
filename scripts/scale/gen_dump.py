"""A large, realistic MediaWiki dump generated from the real sample dumps.

Writes Wikimedia's `pages-articles-multistream` layout: `{out}.xml.bz2` (a first bz2
stream with the header and `<siteinfo>`, then one stream per 100 pages, then one with
the closing tag) and `{out}-index.txt.bz2` (`offset:pageid:title` per page, the offset
being the byte where the page's stream starts), from the sample pages' real wikitext,
recombined:

- each article takes the lead (with its templates and infobox) of one sample article and
  sections (headings, prose, tables, refs, lists) drawn from others, until a target size
  drawn from a log-normal close to enwiki's article sizes (median ~4 KB of wikitext);
- titles are unique (a real title plus a qualifier word from the samples' own titles);
- every internal link `[[Target|label]]` is rewired to another generated article, so the
  link graph spans the whole dump; the lead's bold title follows the new title;
- redirects in enwiki's proportion (~1.6 per article by default): `#REDIRECT [[Title]]`
  pages under other spellings of their targets.

Deterministic: the same samples, arguments and seed give byte-identical files (bz2 at a
fixed level, no clock, no hash order). Standard library only.

Usage: gen_dump.py --articles N --out PREFIX [--lang en|zh] [--seed S]
       [--redirects-per-article R] [--samples DIR] [--workers W]
"""

from __future__ import annotations

import argparse
import bz2
import math
import random
import re
import sys
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from xml.sax.saxutils import escape

PAGES_PER_STREAM = 100
LINK = re.compile(r"\[\[([^\[\]|#]+)(#[^\[\]|]*)?(\|[^\[\]]*)?\]\]")
SECTION = re.compile(r"^==[^=].*?==\s*$", re.M)
SKIP_PREFIXES = ("file:", "image:", "category:", "wikipedia:", "template:", "help:", "portal:", "wp:",
                 "文件:", "file：", "分类:", "category：", "wikt:", "s:", ":")


@dataclass(frozen=True)
class Source:
    title: str
    lead: str
    sections: tuple[str, ...]


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


def read_sources(paths: list[Path]) -> list[Source]:
    """Every namespace-0, non-redirect page of the samples, split into lead and sections."""
    sources = []
    for path in paths:
        opener = bz2.open if path.suffix == ".bz2" else open
        with opener(path, "rb") as f:
            title, ns, redirect, text = "", "", False, ""
            for event, elem in ET.iterparse(f, events=("end",)):
                tag = _local(elem.tag)
                if tag == "title":
                    title = elem.text or ""
                elif tag == "ns":
                    ns = elem.text or ""
                elif tag == "redirect":
                    redirect = True
                elif tag == "text":
                    text = elem.text or ""
                elif tag == "page":
                    if ns == "0" and not redirect and len(text) > 500 and not text.lstrip().upper().startswith("#REDIRECT"):
                        starts = [m.start() for m in SECTION.finditer(text)]
                        lead = text[: starts[0]] if starts else text
                        sections = tuple(
                            text[a:b] for a, b in zip(starts, starts[1:] + [len(text)])
                        )
                        sources.append(Source(title, lead, sections))
                    title, ns, redirect, text = "", "", False, ""
                    elem.clear()
    if not sources:
        sys.exit(f"no article pages in {', '.join(map(str, paths))}")
    return sources


def unique_titles(sources: list[Source], n: int, rng: random.Random) -> list[str]:
    words = sorted({w for s in sources for w in re.findall(r"[A-Za-z]{4,}|[\u4e00-\u9fff]{2,4}", s.title)})
    base = [s.title for s in sources]
    seen: set[str] = set()
    titles = []
    while len(titles) < n:
        title = f"{rng.choice(base)} ({rng.choice(words)})"
        if title in seen:
            title = f"{title[:-1]} {len(titles)})"
        if title not in seen:
            seen.add(title)
            titles.append(title)
    return titles


def target_size(rng: random.Random) -> int:
    # enwiki article wikitext sizes: heavy-tailed, median about 4 KB.
    return int(min(400_000, max(600, math.exp(rng.gauss(math.log(4_000), 1.1)))))


def rewire(text: str, titles: list[str], rng: random.Random) -> str:
    def sub(m: re.Match[str]) -> str:
        target = m.group(1).strip()
        if target.lower().startswith(SKIP_PREFIXES):
            return m.group(0)
        label = m.group(3)[1:] if m.group(3) else target
        return f"[[{rng.choice(titles)}|{label}]]"

    return LINK.sub(sub, text)


def article(i: int, titles: list[str], sources: list[Source], seed: int) -> str:
    rng = random.Random(seed * 1_000_003 + i)
    src = rng.choice(sources)
    lead = src.lead.replace(f"'''{src.title}'''", f"'''{titles[i]}'''", 1)
    parts = [lead]
    size, want = len(lead), target_size(rng)
    pool = [s for s in sources if s.sections]
    while size < want and pool:
        donor = rng.choice(pool)
        section = rng.choice(donor.sections)
        parts.append(section)
        size += len(section)
    return rewire("".join(parts), titles, rng)


def page_xml(page_id: int, title: str, text: str, redirect: str | None) -> str:
    redirect_tag = f'    <redirect title="{escape(redirect, {chr(34): "&quot;"})}" />\n' if redirect else ""
    return (
        "  <page>\n"
        f"    <title>{escape(title)}</title>\n"
        "    <ns>0</ns>\n"
        f"    <id>{page_id}</id>\n"
        f"{redirect_tag}"
        "    <revision>\n"
        f"      <id>{page_id * 10}</id>\n"
        "      <timestamp>2025-01-01T00:00:00Z</timestamp>\n"
        "      <contributor><username>simweb-scale</username><id>1</id></contributor>\n"
        "      <model>wikitext</model>\n"
        "      <format>text/x-wiki</format>\n"
        f'      <text bytes="{len(text.encode())}" xml:space="preserve">{escape(text)}</text>\n'
        "    </revision>\n"
        "  </page>\n"
    )


def header(lang: str) -> str:
    db, host = ("zhwiki", "zh.wikipedia.org") if lang == "zh" else ("enwiki", "en.wikipedia.org")
    return (
        f'<mediawiki xmlns="http://www.mediawiki.org/xml/export-0.11/" version="0.11" xml:lang="{lang}">\n'
        "  <siteinfo>\n"
        "    <sitename>Wikipedia</sitename>\n"
        f"    <dbname>{db}</dbname>\n"
        f"    <base>https://{host}/wiki/Main_Page</base>\n"
        "    <generator>simweb scripts/scale/gen_dump.py</generator>\n"
        "    <case>first-letter</case>\n"
        "    <namespaces>\n"
        '      <namespace key="0" case="first-letter" />\n'
        "    </namespaces>\n"
        "  </siteinfo>\n"
    )


@dataclass(frozen=True)
class Job:
    first_id: int
    pages: tuple[tuple[str, str | None, int], ...]  # (title, redirect target, article index or -1)


_STATE: dict[str, object] = {}


def _init(titles: list[str], sources: list[Source], seed: int) -> None:
    _STATE.update(titles=titles, sources=sources, seed=seed)


def _stream(job: Job) -> tuple[bytes, int, int]:
    """One bz2 stream of up to 100 pages; also the article and redirect counts."""
    titles: list[str] = _STATE["titles"]  # type: ignore[assignment]
    sources: list[Source] = _STATE["sources"]  # type: ignore[assignment]
    seed: int = _STATE["seed"]  # type: ignore[assignment]
    xml = []
    articles = redirects = 0
    for offset, (title, target, index) in enumerate(job.pages):
        if target is None:
            xml.append(page_xml(job.first_id + offset, title, article(index, titles, sources, seed), None))
            articles += 1
        else:
            xml.append(page_xml(job.first_id + offset, title, f"#REDIRECT [[{target}]]", target))
            redirects += 1
    return bz2.compress("".join(xml).encode(), 9), articles, redirects


def redirect_title(target: str, rng: random.Random, lang: str) -> str:
    base = target.split(" (", 1)[0]
    if lang == "zh":
        return f"{base}（{target.split(' (', 1)[-1].rstrip(')')}）"
    choice = rng.randrange(3)
    if choice == 0:
        return target.replace(" (", ", ").rstrip(")")
    if choice == 1:
        return f"The {target}"
    return target.replace(" ", "-", 1)


def plan(titles: list[str], redirects_per_article: float, rng: random.Random, lang: str) -> Iterator[tuple[str, str | None, int]]:
    """Pages in dump order: each article, then its redirects (a page id follows the order)."""
    taken = set(titles)
    for i, title in enumerate(titles):
        yield title, None, i
        count = int(redirects_per_article) + (1 if rng.random() < redirects_per_article % 1 else 0)
        for _ in range(count):
            alias = redirect_title(title, rng, lang)
            if alias not in taken:
                taken.add(alias)
                yield alias, title, -1


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--articles", type=int, required=True)
    parser.add_argument("--out", type=Path, required=True, help="prefix: writes PREFIX.xml.bz2 and PREFIX-index.txt.bz2")
    parser.add_argument("--lang", choices=["en", "zh"], default="en")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--redirects-per-article", type=float, default=1.6)
    parser.add_argument("--samples", type=Path, default=Path(__file__).resolve().parents[2].parent / "shared/data/wiki")
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args()

    names = ["zhwiki-test-pages.xml"] if args.lang == "zh" else sorted(p.name for p in args.samples.glob("enwiki-*.xml.bz2"))
    sources = read_sources([args.samples / n for n in names])
    rng = random.Random(args.seed)
    titles = unique_titles(sources, args.articles, rng)
    pages = list(plan(titles, args.redirects_per_article, rng, args.lang))
    jobs = [
        Job(first_id=10 + start, pages=tuple(pages[start : start + PAGES_PER_STREAM]))
        for start in range(0, len(pages), PAGES_PER_STREAM)
    ]

    args.out.parent.mkdir(parents=True, exist_ok=True)
    dump = Path(f"{args.out}.xml.bz2")
    index_lines = []
    totals = [0, 0]
    with open(dump, "wb") as out:
        out.write(bz2.compress(header(args.lang).encode(), 9))
        with ProcessPoolExecutor(args.workers, initializer=_init, initargs=(titles, sources, args.seed)) as pool:
            for job, (stream, articles, redirects) in zip(jobs, pool.map(_stream, jobs, chunksize=4)):
                offset = out.tell()
                for k, (title, _, _) in enumerate(job.pages):
                    index_lines.append(f"{offset}:{job.first_id + k}:{title}\n")
                out.write(stream)
                totals[0] += articles
                totals[1] += redirects
        out.write(bz2.compress(b"</mediawiki>\n", 9))
    with open(f"{args.out}-index.txt.bz2", "wb") as f:
        f.write(bz2.compress("".join(index_lines).encode(), 9))
    print(f"{dump}: {totals[0]} articles, {totals[1]} redirects, {len(jobs)} page streams, {dump.stat().st_size} bytes")


if __name__ == "__main__":
    main()
