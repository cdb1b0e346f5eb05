"""A paginator for big changelists: it never counts more rows than it can show pages for."""

from functools import cached_property

from django.core.paginator import Paginator

COUNT_CAP = 10_000


class CappedCountPaginator(Paginator):
    """Counts the filtered rows up to COUNT_CAP, with `SELECT COUNT(*) FROM (… LIMIT cap + 1)`.

    The admin asks the paginator for the filtered count on every page; on a table of millions of
    sessions a full COUNT(*) is the slowest query of the page. Past the cap, the operator narrows
    the list with a filter or a search instead of paging further; the page says "more than".
    """

    cap = COUNT_CAP
    capped = False

    @cached_property
    def count(self) -> int:
        # A capped count must still mean "more than one page", or the admin would list every row.
        cap = max(self.cap, self.per_page + 1)
        counted = self.object_list.order_by()[: cap + 1].count()
        self.capped = counted > cap
        return min(counted, cap)
