"""`icpurse layout show`: the v1 sector map, straight from protocol/ (filled in by the layout work)."""
import click


@click.group()
def layout():
    """The icpurse card layout (sector map, records, access conditions)."""


@layout.command()
@click.option("--card", type=click.Choice(["1k", "4k"]), default="1k", show_default=True)
@click.option("--json", "as_json", is_flag=True, help="machine-readable output")
def show(card, as_json):
    """Print the v1 sector map: sector, blocks, purpose, access conditions per key."""
    raise click.ClickException("not implemented yet")
