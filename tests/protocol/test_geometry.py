"""MIFARE Classic geometry (docs/chip-facts.md "Geometry"; access groups: "Access bits")."""
import pytest

from icpurse.protocol.mifare import geometry as g


def test_card_sizes():
    assert (g.MINI.sector_count, g.MINI.block_count, g.MINI.size_bytes) == (5, 20, 320)
    assert (g.CLASSIC_1K.sector_count, g.CLASSIC_1K.block_count, g.CLASSIC_1K.size_bytes) == (16, 64, 1024)
    assert (g.CLASSIC_4K.sector_count, g.CLASSIC_4K.block_count, g.CLASSIC_4K.size_bytes) == (40, 256, 4096)


@pytest.mark.parametrize(
    "sector, first, count, trailer",
    [(0, 0, 4, 3), (1, 4, 4, 7), (15, 60, 4, 63), (16, 64, 4, 67), (31, 124, 4, 127),
     (32, 128, 16, 143), (33, 144, 16, 159), (39, 240, 16, 255)],
)
def test_sector_bounds(sector, first, count, trailer):
    assert g.first_block(sector) == first
    assert g.blocks_in_sector(sector) == count
    assert g.trailer_block(sector) == trailer
    assert g.is_trailer(trailer)
    assert g.sector_of_block(first) == sector
    assert g.sector_of_block(trailer) == sector


def test_1k_trailers_are_4n_plus_3():
    trailers = [b for b in range(64) if g.is_trailer(b, g.CLASSIC_1K)]
    assert trailers == [4 * n + 3 for n in range(16)]


def test_4k_has_40_trailers_and_every_block_in_one_sector():
    trailers = [b for b in range(256) if g.is_trailer(b)]
    assert len(trailers) == 40
    assert trailers[32:] == [128 + 16 * k + 15 for k in range(8)]
    # every block belongs to exactly the sector whose range contains it
    for s in range(40):
        for b in range(g.first_block(s), g.first_block(s) + g.blocks_in_sector(s)):
            assert g.sector_of_block(b) == s


@pytest.mark.parametrize("block, group", [(0, 0), (1, 1), (2, 2), (3, 3), (8, 0), (9, 1), (10, 2), (11, 3),
                                          (124, 0), (127, 3)])
def test_access_group_small_sectors(block, group):
    assert g.access_group(block) == group


def test_access_group_big_sectors():
    # 4K sectors 32..39: groups cover blocks 0-4, 5-9, 10-14 of the sector; block 15 is the trailer
    for s in (32, 39):
        start = g.first_block(s)
        groups = [g.access_group(start + i) for i in range(16)]
        assert groups == [0] * 5 + [1] * 5 + [2] * 5 + [3]


def test_data_blocks():
    assert list(g.data_blocks(2)) == [8, 9, 10]
    assert list(g.data_blocks(32)) == list(range(128, 143))


@pytest.mark.parametrize("block", [-1, 256])
def test_block_out_of_range(block):
    with pytest.raises(ValueError, match="block %d out of range" % block):
        g.sector_of_block(block)


def test_block_out_of_range_for_smaller_cards():
    with pytest.raises(ValueError, match="MIFARE Classic 1K has blocks 0..63"):
        g.sector_of_block(64, g.CLASSIC_1K)
    with pytest.raises(ValueError, match="MIFARE Mini has blocks 0..19"):
        g.access_group(20, g.MINI)
    assert g.sector_of_block(19, g.MINI) == 4


@pytest.mark.parametrize("sector", [-1, 40])
def test_sector_out_of_range(sector):
    with pytest.raises(ValueError, match="sector %d out of range" % sector):
        g.first_block(sector)
    with pytest.raises(ValueError):
        g.trailer_block(sector)
    with pytest.raises(ValueError):
        g.blocks_in_sector(sector)


def test_sector_out_of_range_for_1k():
    with pytest.raises(ValueError, match="sectors 0..15"):
        g.trailer_block(16, g.CLASSIC_1K)


@pytest.mark.parametrize("bad", [1.0, "3", True, None])
def test_non_int_block_refused(bad):
    with pytest.raises(ValueError, match="must be an int"):
        g.sector_of_block(bad)


@pytest.mark.parametrize("sak, atqa, geom", [(0x08, b"\x00\x04", g.CLASSIC_1K), (0x08, b"\x00\x44", g.CLASSIC_1K),
                                             (0x18, b"\x00\x02", g.CLASSIC_4K), (0x18, b"\x00\x42", g.CLASSIC_4K),
                                             (0x09, b"\x00\x04", g.MINI)])
def test_geometry_from_sak(sak, atqa, geom):
    assert g.geometry_from_sak(sak, atqa) is geom


def test_geometry_from_sak_refuses_non_classic():
    with pytest.raises(ValueError, match="SAK 0x20"):
        g.geometry_from_sak(0x20)


def test_sector_span_is_the_sector_and_its_blocks():
    assert g.sector_span(8) == (2, 8, 12)
    assert g.sector_span(127) == (31, 124, 128)
    assert g.sector_span(128) == (32, 128, 144)
    assert g.sector_span(255) == (39, 240, 256)
    for block in range(256):
        sector, first, stop = g.sector_span(block)
        assert (sector, first, stop - first) == (g.sector_of_block(block), g.first_block(sector),
                                                  g.blocks_in_sector(sector))
    for bad in (-1, 256):
        with pytest.raises(ValueError):
            g.sector_span(bad)
