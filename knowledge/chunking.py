"""Heading-aware, token-bounded chunks with stable ids, and the sentence units inside them.

A chunk is one piece of one article section. The text that is embedded is
``"<title> > <section>\\n\\n<body>"`` so that a passage carries its context, and the whole of it
fits the embedding model's 256-token window (measured with the model's own tokenizer), so
nothing is ever silently truncated.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from langchain_core.documents import Document
from langchain_text_splitters import RecursiveCharacterTextSplitter

from assistant.chunks import HEADER_SEPARATOR, embed_header, tag_key

_HEADING = re.compile(r"^(#{1,6})\s+(.+?)\s*#*\s*$")
_FENCE = re.compile(r"^\s*(```|~~~)")
_MARKDOWN_LINK = re.compile(r"(?<!!)\[([^\]]+)\]\([^)\s]*\)")


@dataclass(frozen=True)
class Section:
    path: tuple[str, ...]
    text: str


def split_sections(markdown: str) -> list[Section]:
    """Split Markdown at ATX headings, keeping the heading path of each section.

    Hand-written rather than LangChain's MarkdownHeaderTextSplitter: that splitter joins the
    lines of a section with hard line breaks, losing the blank lines between paragraphs and
    lists that the sentence extractor relies on.
    """
    sections: list[Section] = []
    stack: list[tuple[int, str]] = []
    lines: list[str] = []
    in_fence = False

    def flush() -> None:
        text = "\n".join(lines).strip()
        if text:
            sections.append(Section(tuple(title for _, title in stack), text))
        lines.clear()

    for line in markdown.splitlines():
        if _FENCE.match(line):
            in_fence = not in_fence
        match = None if in_fence else _HEADING.match(line)
        if match:
            flush()
            level = len(match.group(1))
            while stack and stack[-1][0] >= level:
                stack.pop()
            stack.append((level, match.group(2).strip()))
        else:
            lines.append(line)
    flush()
    return sections


@dataclass
class Chunker:
    """Turns article Documents into chunk Documents that fit ``max_tokens`` model tokens.

    Example::

        chunker = Chunker(token_len=lambda s: len(tokenizer(s).input_ids), max_tokens=200)
        chunks = chunker.split(documents)
    """

    token_len: Callable[[str], int]
    max_tokens: int = 200
    overlap_tokens: int = 24

    def split(self, documents: Iterable[Document]) -> list[Document]:
        chunks: list[Document] = []
        for doc in documents:
            chunks.extend(self.split_one(doc))
        return chunks

    def split_one(self, doc: Document) -> list[Document]:
        meta = doc.metadata
        article_id = str(meta["article_id"])
        title = str(meta.get("title", ""))
        out: list[Document] = []
        # Link targets ("(calf-raises.md)") cost tokens and mean nothing to the model or to a
        # reader of a lifted sentence; the link text stays. The article URL is in metadata.
        for section in split_sections(_MARKDOWN_LINK.sub(r"\1", doc.page_content)):
            header = embed_header(title, section.path)
            budget = self.max_tokens - self.token_len(header + HEADER_SEPARATOR)
            if budget < 32:
                raise ValueError(
                    f"article {article_id!r}: heading '{header}' leaves under 32 tokens "
                    f"of a {self.max_tokens}-token chunk; shorten the heading"
                )
            for piece in self._pieces(section.text, budget):
                text = header + HEADER_SEPARATOR + piece
                if self.token_len(text) > self.max_tokens:  # a single unbreakable run
                    raise ValueError(f"article {article_id!r}: a chunk exceeds the token limit")
                index = len(out)
                out.append(
                    Document(
                        page_content=text,
                        metadata=self._metadata(meta, section.path, index, piece),
                    )
                )
        return out

    def _pieces(self, text: str, budget: int) -> list[str]:
        if self.token_len(text) <= budget:
            return [text]
        splitter = RecursiveCharacterTextSplitter(
            chunk_size=budget,
            chunk_overlap=min(self.overlap_tokens, budget // 4),
            length_function=self.token_len,
            separators=["\n\n", "\n", ". ", "; ", ", ", " ", ""],
            keep_separator="end",
        )
        return [piece.strip() for piece in splitter.split_text(text) if piece.strip()]

    @staticmethod
    def _metadata(
        meta: dict[str, object], path: tuple[str, ...], index: int, piece: str
    ) -> dict[str, str | int | float | bool]:
        article_id = str(meta["article_id"])
        raw_tags = meta.get("tags") or []
        tags = [str(t) for t in raw_tags] if isinstance(raw_tags, list | tuple) else []
        digest = hashlib.sha256(piece.encode("utf-8")).hexdigest()[:12]
        out: dict[str, str | int | float | bool] = {
            "article_id": article_id,
            "chunk_id": f"{article_id}#{index}-{digest}",
            "chunk_index": index,
            "title": str(meta.get("title", "")),
            "section": " > ".join(path),
            "collection": str(meta.get("collection", "")),
            "url": str(meta.get("url", "")),
            "updated": str(meta.get("updated", "")),
            "summary": str(meta.get("summary", "")),
            "source": str(meta.get("source", "")),
            "tags": ",".join(tags),
        }
        for tag in tags:
            out[tag_key(tag)] = True
        return out


@lru_cache(maxsize=4)
def model_token_length(model_setting: str) -> Callable[[str], int]:
    """Length in the embedding model's tokens (special tokens included), for ``embedding_model``.

    From the model's ``tokenizer.json`` through the Rust ``tokenizers`` library when the model
    has one: that file is what transformers' fast tokenizer wraps, so the counts are the same
    (checked against it in the tests), without importing transformers and torch (seconds of
    every ``help-assistant ingest`` process). Otherwise transformers' own tokenizer.
    """
    from assistant.embeddings import load_tokenizer, resolve_model_path

    path = Path(resolve_model_path(model_setting)) / "tokenizer.json"
    if not path.is_file():
        return tokenizer_length(load_tokenizer(model_setting))
    from tokenizers import Tokenizer

    tokenizer = Tokenizer.from_file(str(path))
    # The file carries the model's encoding defaults (truncation and padding to 128 tokens for
    # all-MiniLM-L6-v2): a length must be the whole text's, unpadded.
    tokenizer.no_truncation()
    tokenizer.no_padding()

    def count(text: str) -> int:
        return len(tokenizer.encode(text, add_special_tokens=True).ids)

    return count


def tokenizer_length(tokenizer: object) -> Callable[[str], int]:
    """Length in model tokens, special tokens included (they count against the window)."""

    def count(text: str) -> int:
        return len(tokenizer(text, add_special_tokens=True)["input_ids"])  # type: ignore[operator]

    return count
