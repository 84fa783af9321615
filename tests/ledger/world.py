"""Shared set-up for ledger tests: operators of each role, registered programmes, stock."""
from icpurse.host.ledger import HolderInfo
from support.ledger import DATA_KEY, EXAMPLES, PW, example, staff  # noqa: F401 (the suite imports them from here)

HOLDER = HolderInfo(name="Zhang San", id_number="11010519491231002X", contact="13800000000")


def setup_world(ledger, uids=("04A1B2C3D4E501", "04A1B2C3D4E502", "04A1B2C3D4E503", "04A1B2C3D4E504")):
    """admin, admin2, seller, seller2, finance, auditor; programme mofcom-compliant; stock at point P1."""
    staff(ledger, (("seller", "seller"), ("seller2", "seller"), ("finance", "finance"), ("auditor", "auditor")))
    ledger.programmes.register_programme("admin", example("mofcom-compliant.toml"))
    ledger.stock.add_sales_point("admin", "P1", "Counter 1")
    ledger.stock.receive_stock("finance", "B-2026-001", uids)
    ledger.stock.issue_to_point("finance", uids, "P1")


def sell_and_activate(ledger, uid, number, kind="anonymous", face_value=50000, holder=None, method="cash"):
    ledger.cards.register_card("finance", uid, number, "mofcom-compliant", kind, face_value)
    ledger.sales.record_sale("seller", number, payment_method=method, holder=holder,
                             payer_account=None if method == "cash" else "Payer 6222 0000 0001")
    ledger.sales.confirm_payment("finance", number)
    ledger.sales.activate(number, "finance")
