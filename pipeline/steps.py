"""Which service records each station step: a plain table. The events API
(`POST /api/v1/prescriptions/{id}/events/`) and the demo seeding dispatch through it; the station
pages of each app call their own recorders directly.

Each recorder checks its station's rules (weights, photos, tanks, the courier's run…), then moves
the prescription through prescriptions' one status writer."""

from decoction.services import (
    record_decocting,
    record_dispensed,
    record_packaged,
    record_recheck_failed,
    record_rechecked,
    record_soaking,
)
from delivery.services import record_delivered, record_picked_up, record_shipped
from prescriptions.workflow import Stage

STEPS = {
    Stage.DISPENSED: record_dispensed,  # decoction: weights, stock by batch, a photo
    Stage.RECHECKED: record_rechecked,  # decoction: a pharmacist passes the dispensed herbs
    Stage.RECHECK_FAILED: record_recheck_failed,  # decoction: … or sends them back with a reason
    Stage.SOAKING: record_soaking,  # decoction: the tank
    Stage.DECOCTING: record_decocting,  # decoction: the machine, soaking time checked
    Stage.PACKAGED: record_packaged,  # decoction: bags and ml checked against the SOP
    Stage.SHIPPED: record_shipped,  # delivery: on the courier's open run
    Stage.DELIVERED: record_delivered,  # delivery: the receiver
    Stage.PICKED_UP: record_picked_up,  # delivery: the patient's pickup code
}
