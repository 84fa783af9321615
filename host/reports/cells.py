"""One cell value -> text, by column kind (shared by every renderer)."""
from icpurse.protocol.money import fmt_yuan


def cell_text(value, kind, plain=False):
    if value is None:
        return "" if plain else "-"
    if kind == "money":
        return fmt_yuan(value, unit="", sep="" if plain else ",", always_decimals=True)  # CSV: no separator
    if kind == "percent":
        return "%d" % value if plain else "%d %%" % value
    if kind == "bool":
        return ("yes" if value else "no") if plain else ("✔" if value else "✘")
    if kind == "int":
        return "%d" % value
    return str(value)
