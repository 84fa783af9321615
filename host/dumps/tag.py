"""A dump file as a card for read-only host tools (`icpurse audit card --dump FILE`): the tag
contract (firmware/tag.py `Tag`) over a CardDump. Authentication checks the key against the dump's
trailer, reads follow the trailer's access bits like a card, and nothing can be written: a dump is
evidence, not a card. Unknown bytes (a partial dump) make the read fail, never read as zeros."""
from icpurse.firmware.tag import AccessDenied, AuthError, Tag
from icpurse.host.codec import MF_AUTH_A, MF_AUTH_B, ST_AUTH_ERROR, ST_INVALID_FRAME
from icpurse.protocol.mifare import access, geometry
from icpurse.protocol.mifare.access import Op


class DumpTag(Tag):
    """A read-only Tag: every write raises AccessDenied; after a failure nothing reads until the
    next `authenticate`, as on a card."""

    def __init__(self, dump):
        self.dump = dump
        self.uid = dump.effective_uid()
        self.atqa = dump.effective_atqa()
        self.sak = dump.effective_sak()
        self._sector = -1  # the authenticated sector; -1: none (as a card after a failure)
        self._key = None

    def _fail(self, exc, status, message):
        self._sector = -1
        raise exc(status, message)

    def _trailer(self, sector):
        return self.dump.blocks[geometry.trailer_block(sector)]

    def authenticate(self, block, key, key_type=MF_AUTH_A):
        self._check_auth(block, key, key_type)
        if not 0 <= block < len(self.dump.blocks):
            self._fail(AuthError, ST_AUTH_ERROR, "block %d is beyond this %s dump" % (block, self.dump.size))
        sector = geometry.sector_of_block(block)
        t = self._trailer(sector)
        stored = t[0:6] if key_type == MF_AUTH_A else t[10:16]
        if None in stored or bytes(stored) != bytes(key):
            self._fail(AuthError, ST_AUTH_ERROR, "key %s of sector %d is %s in the dump" % (
                "A" if key_type == MF_AUTH_A else "B", sector, "unknown" if None in stored else "another"))
        self._sector = sector
        self._key = key_type

    def read_block(self, block):
        self._check_block(block)
        if self._sector < 0 or block >= len(self.dump.blocks) or geometry.sector_of_block(block) != self._sector:
            self._fail(AccessDenied, ST_INVALID_FRAME, "block %d: not authenticated for its sector" % block)
        t = self._trailer(self._sector)
        if None in t[6:9]:
            self._fail(AccessDenied, ST_INVALID_FRAME, "sector %d: access bits unknown in the dump" % self._sector)
        try:
            conds = access.decode_access_bits(bytes(t[6:9]))
        except access.InvalidAccessBits:
            self._fail(AccessDenied, ST_INVALID_FRAME, "sector %d is blocked (invalid access bits)" % self._sector)
        group = geometry.access_group(block, geometry.CLASSIC_4K)  # same numbering below block 128
        data = self.dump.blocks[block]
        if group == geometry.TRAILER_GROUP:
            if not access.allows(conds, group, Op.READ_ACCESS, self._key):
                self._fail(AccessDenied, ST_INVALID_FRAME, "access bits refuse READ of trailer %d" % block)
            out = [0] * 6 + list(data[6:10]) + (list(data[10:16]) if access.allows(conds, 3, Op.READ_KEY_B, self._key)
                                                  else [0] * 6)
        else:
            if not access.allows(conds, group, Op.READ, self._key):
                self._fail(AccessDenied, ST_INVALID_FRAME, "access bits refuse READ of block %d" % block)
            out = list(data)
        if None in out:
            self._fail(AccessDenied, ST_INVALID_FRAME, "block %d is not (fully) in the dump" % block)
        return bytes(out)

    def _read_only(self, *args):
        raise AccessDenied(ST_INVALID_FRAME, "a dump file is read-only: it is evidence, not a card")

    write_block = increment = decrement = restore = transfer = write_value = _read_only
