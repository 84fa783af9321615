"""`icpurse layout show`: the sector map of layout v2 (or v1), computed from protocol/ (layout + access model)."""
import click
from rich.table import Table

from icpurse.host.clikit.group import Group
from icpurse.host.clikit.options import json_option
from icpurse.host.clikit.output import console, emit_json

from icpurse.protocol import layout as lay
from icpurse.protocol.mifare import access, geometry

_DATA_OPS = (("read", access.Op.READ), ("write", access.Op.WRITE), ("increment", access.Op.INCREMENT),
             ("decrement", access.Op.DECREMENT), ("transfer", access.Op.TRANSFER), ("restore", access.Op.RESTORE))
_TRAILER_OPS = (("write key A", access.Op.WRITE_KEY_A), ("read access bits", access.Op.READ_ACCESS),
                ("write access bits", access.Op.WRITE_ACCESS), ("read key B", access.Op.READ_KEY_B),
                ("write key B", access.Op.WRITE_KEY_B))


def _rights(conds, group, key):
    ops = _TRAILER_OPS if group == geometry.TRAILER_GROUP else _DATA_OPS
    return [name for name, op in ops if access.allows(conds, group, op, key)]


def sector_rows(geom, version=2):
    """One dict per block of every sector: the machine-readable form of the map of layout `version`."""
    specs = {s.number: s for s in lay.sector_map(geom, version)}
    rows = []
    for sector in range(geom.sector_count):
        spec = specs.get(sector)
        first = geometry.first_block(sector)
        count = geometry.blocks_in_sector(sector)
        conds = spec.conds if spec else access.TRANSPORT
        for i in range(count):
            block = first + i
            group = geometry.access_group(block)
            if spec is None:
                purpose = "free (MAD: 0000), transport configuration"
            elif group == geometry.TRAILER_GROUP:
                purpose = "trailer: key A %s, key B diversified, GPB %02X" % (
                    "public MAD key" if spec.key_a == "mad" else "diversified", spec.gpb)
            else:
                purpose = spec.blocks[min(i, len(spec.blocks) - 1)]
            rows.append({
                "sector": sector,
                "block": block,
                "name": spec.name if spec else "free",
                "purpose": purpose,
                "access": access.cond_str(conds[group]),
                "key_a": _rights(conds, group, access.Key.A) if not (sector == 0 and i == 0) else ["read"],
                "key_b": _rights(conds, group, access.Key.B) if not (sector == 0 and i == 0) else ["read"],
            })
    return rows


@click.group(cls=Group)
def layout():
    """The icpurse card layouts v2 and v1 (sector map, records, access conditions)."""


@layout.command()
@click.option("--card", type=click.Choice(["1k", "4k"]), default="1k", show_default=True,
              help="card size: MIFARE Classic 1K or 4K")
@click.option("--layout", "version", type=click.Choice(["1", "2"]), default="2", show_default=True,
              help="layout version: 2 (what the issuer personalises) or 1 (older cards, accepted during the transition)")
@json_option(help="print JSON (one object per block) for scripts")
def show(card, version, as_json):
    """Print the sector map: sector, block, purpose, access bits and what key A / key B may do.

    Key A is held by store readers, key B only by the issuer (see docs/card-layout.md)."""
    geom = geometry.CLASSIC_4K if card == "4k" else geometry.CLASSIC_1K
    version = int(version)
    rows = sector_rows(geom, version)
    if as_json:
        emit_json({"layout_version": version, "card": card, "blocks": rows})
        return
    table = Table(title="icpurse layout v%d — MIFARE Classic %s" % (version, card.upper()))
    for col in ("sector", "block", "content", "C1C2C3", "key A may", "key B may"):
        table.add_column(col)
    last = None
    for r in rows:
        if r["name"] == "free" and last == "free" and r["sector"] == (rows[rows.index(r) - 1]["sector"]):
            continue
        table.add_row(str(r["sector"]) if r["sector"] != last else "", str(r["block"]),
                      "%s: %s" % (r["name"], r["purpose"]), r["access"],
                      ", ".join(r["key_a"]) or "—", ", ".join(r["key_b"]) or "—")
        last = r["sector"]
    console(150).print(table)
