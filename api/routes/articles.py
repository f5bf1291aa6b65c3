"""GET /v1/articles and GET /v1/articles/{article_id}: the help articles behind the answers.

Both read the recorded sources (what ingest indexed), refreshed when the record changed.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, Path, Query
from starlette.concurrency import run_in_threadpool

from api.articles import ArticleCatalog
from api.deps import CatalogDep, SettingsDep, single_query_values
from api.errors import ERRORS, UNKNOWN_ARTICLE, documented
from api.schemas import ARTICLE_ID_PATTERN, ArticleDetail, ArticleList, ArticleSummary


async def _current(catalog: CatalogDep, settings: SettingsDep) -> ArticleCatalog:
    """The catalog, reloaded first if an ingest or sync changed the sources record."""
    await run_in_threadpool(catalog.refresh, settings)
    return catalog


router = APIRouter(
    prefix="/v1/articles", tags=["articles"], dependencies=[Depends(single_query_values)]
)
CurrentCatalog = Annotated[ArticleCatalog, Depends(_current)]


@router.get("", response_model=ArticleList, summary="List articles", responses=ERRORS)
async def list_articles(
    catalog: CurrentCatalog,
    collection: Annotated[
        str | None, Query(max_length=200, description="Only this collection.")
    ] = None,
) -> ArticleList:
    """Metadata of every published article, in title order."""
    articles = catalog.list(collection)
    return ArticleList(
        count=len(articles),
        articles=[ArticleSummary.model_validate(a, from_attributes=True) for a in articles],
    )


@router.get(
    "/{article_id}",
    response_model=ArticleDetail,
    summary="One article with its body as sanitized HTML",
    responses={**documented(UNKNOWN_ARTICLE), **ERRORS},
)
async def get_article(
    catalog: CurrentCatalog,
    article_id: Annotated[str, Path(pattern=ARTICLE_ID_PATTERN, examples=["quadripod-balance"])],
) -> ArticleDetail:
    """Markdown rendered without raw HTML and cleaned by an allow-list sanitizer (nh3)."""
    article = catalog.get(article_id)
    if article is None:
        raise HTTPException(404, detail=f"unknown article {article_id!r}")
    return ArticleDetail.model_validate(article, from_attributes=True)
