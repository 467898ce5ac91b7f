"""The one interface between the FLASH machine's run loop and whoever supervises
its software (Disco): the moments the loop hands over, and nothing else.

    class Monitor(Supervisor):
        def on_exit(self, reason, cpu): ...
    fm = FlashMachine(config, supervisor=Monitor())

This base class is the bare machine's own behaviour: it handles no exit, has
nothing to do between chunks, and leaves deadlocks and stuck CPUs to the
machine, which reports them as the guest's error.
"""
from __future__ import annotations

import numpy as np


class Supervisor:
    """What the machine asks of its supervisor; override what you take over."""

    def on_exit(self, reason: int, cpu: int) -> bool:
        """The kernel exited with `reason` (an EXIT_* beyond the machine's own)
        for CPU `cpu`.  True when served; False makes it an unexpected exit."""
        return False

    def between_chunks(self) -> None:
        """A chunk of simulated time ended (events fired): e.g. schedule virtual CPUs."""

    def all_waiting(self) -> bool:
        """Every CPU waits and no event is due.  True when dealt with; False:
        the machine reports that nothing can ever run again."""
        return False

    def stuck(self, cpu: int) -> bool:
        """No CPU retired an instruction in a whole chunk (CPU `cpu` loops taking
        exceptions).  True when dealt with; False: the machine reports it."""
        return False

    def hot_page(self, page: int, node: int, count: int) -> None:
        """MAGIC counted `count` misses of machine page `page` from `node` (after
        the machine's own MAGIC device has seen the event)."""

    def hot_pages(self, events: np.ndarray) -> None:
        """A batch of MAGIC's hot-page events, rows (page, node, count) in the order they were
        raised; by default one `hot_page` call each."""
        for page, node, count in events.tolist():
            self.hot_page(page, node, count)


__all__ = ["Supervisor"]
