"""`flashvm disasm`: disassemble with the ISA table (registered by flashvm/cli.py)."""
from __future__ import annotations

import sys
from pathlib import Path
from typing import Optional

import typer


def disasm_command(program: Path = typer.Argument(..., help="an ELF file, or a hex instruction word like 0x27bdffe0"),
                   symbol: Optional[str] = typer.Option(None, help="disassemble this function only"),
                   count: int = typer.Option(64, help="instructions to print when no symbol is given")) -> None:
    """Disassemble instructions with the ISA table."""
    from flashvm.elf import ElfError, load_elf
    from flashvm.isa.disasm import disasm as dis, listing
    if not program.exists() and str(program).lower().startswith("0x"):
        typer.echo(dis(int(str(program), 16)))
        return
    try:
        typer.echo("\n".join(listing(load_elf(program), symbol, count)))
        return
    except (ElfError, OSError) as e:
        problem = str(e)
    except KeyError:
        problem = f"{program}: no symbol {symbol!r}"
    sys.stderr.write(f"error: {problem}\n")
    raise typer.Exit(2)
