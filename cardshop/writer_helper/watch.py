"""`status --watch`: one line per slot, kept up to date, for the operator standing at the host.

The lines come from the facts `status --json` gives (the slots' own state files, cardshop/pipeline/slot_state.py)
read again every interval. On a terminal the block is redrawn in place; elsewhere (a pipe, a log) a new block,
headed by the time, is printed each time a line changed, so a log reads as the slots' history. With --json
each change is one JSON document on its own line. The progress wording is the manager's and the CLI's
(cardshop/pipeline/progress.py).
"""

import json
import time

from cardshop.pipeline.progress import LiveBlock, progress_line, size_text

# What the operator does about a slot in a state that waits for them (the state file's `message` says why).
ACTIONS = {"empty": "insert a blank card", "done": "remove the card: it is written",
           "failed": "remove the card: its write failed", "refused": "remove the card: it was refused",
           "no_reader": "the reader is absent: plug it in"}
COLUMNS = (("SLOT", "slot"), ("STATE", "state"), ("ORDER", "order"), ("CARD", "card"), ("DOING", "doing"))


def slot_row(fact):
    """One slot's line as columns: its state, order, card and what it does (the progress or the action)."""
    state = fact["state"]
    if state is None:
        why = f"writer@{fact['slot']} {fact['unit']}" if fact["unit"] else "no writer process"
        return {"slot": fact["slot"], "state": "stopped", "order": "-",
                "card": size_text(fact["card_size"]) if fact["card_size"] else "-",
                "doing": f"not running ({why})"}
    card = state.get("card") or {}
    if state["state"] == "busy":
        doing = progress_line({"step": state.get("step"), **(state.get("progress") or {}),
                               "message": state.get("message")}) or "working"
    else:
        doing = "; ".join(text for text in (state.get("message"), ACTIONS.get(state["state"])) if text) or "-"
    return {"slot": fact["slot"], "state": state["state"] + (" (draining)" if state.get("draining") else ""),
            "order": state.get("order") or "-", "card": size_text(card["size"]) if card.get("size") else "-",
            "doing": doing}


def lines(facts):
    """The block: a header and one line per slot, columns aligned."""
    rows = [slot_row(fact) for fact in facts]
    widths = [max(len(title), *(len(str(row[key])) for row in rows)) for title, key in COLUMNS]
    block = ["  ".join(title.ljust(width) for (title, _), width in zip(COLUMNS, widths)).rstrip()]
    for row in rows:
        block.append("  ".join(str(row[key]).ljust(width) for (_, key), width in zip(COLUMNS, widths)).rstrip())
    return block


def watch(read_facts, out, interval, as_json=False, terminal=False, clock=time.time, sleep=time.sleep):
    """Show `read_facts()` on `out` every `interval` seconds until interrupted (KeyboardInterrupt, caught:
    Ctrl-C is how the operator ends a watch, not a failure)."""
    shown, live = None, LiveBlock(out)
    try:
        while True:
            facts = read_facts()
            if as_json:
                if facts != shown:
                    out.write(json.dumps({"time": round(clock(), 3), "slots": facts}, sort_keys=True) + "\n")
                shown = facts
            else:
                block = lines(facts)
                if terminal:
                    stamp = time.strftime("%H:%M:%S", time.localtime(clock()))
                    live.draw([f"slots at {stamp} (every {interval:g} s; Ctrl-C ends)", *block])
                elif block != shown:
                    stamp = time.strftime("%Y-%m-%d %H:%M:%S %Z", time.localtime(clock()))
                    out.write("\n".join([f"-- {stamp}", *block]) + "\n")
                shown = block
            out.flush()
            sleep(interval)
    except KeyboardInterrupt:
        return
