import pytest
from pydantic import ValidationError

from bot.errors import DispatchError
from bot.events import DealChanged, Dispatcher, Event, TicketOpened
from bot.models import Deal, Ticket


def _deal(stage: str = "Closed Won") -> DealChanged:
    return DealChanged(deal=Deal(id="1", name="Big", account_id="A1", stage=stage), previous_stage="Negotiation")


async def test_publish_reaches_subscribers_by_class_and_by_name():
    seen: list[tuple[str, Event]] = []
    dispatcher = Dispatcher()

    async def first(event: Event) -> None:
        seen.append(("first", event))

    async def second(event: Event) -> None:
        seen.append(("second", event))

    dispatcher.subscribe(DealChanged, first)
    dispatcher.subscribe("DealChanged", second)
    dispatcher.subscribe(DealChanged, first)  # once only
    event = _deal()
    await dispatcher.publish(event)
    await dispatcher.publish(TicketOpened(ticket=Ticket(id="T1")))  # nobody listens: fine
    assert seen == [("first", event), ("second", event)]
    assert event.kind == "DealChanged" and event.account_id == "A1" and event.stage_changed
    assert event.source == "webhook"


async def test_a_failing_subscriber_fails_the_publish_after_the_others_ran():
    ran: list[str] = []
    dispatcher = Dispatcher()

    async def broken(event: Event) -> None:
        raise RuntimeError("slack down")

    async def fine(event: Event) -> None:
        ran.append("fine")

    dispatcher.subscribe(DealChanged, broken)
    dispatcher.subscribe(DealChanged, fine)
    with pytest.raises(DispatchError, match="slack down") as err:
        await dispatcher.publish(_deal())
    assert ran == ["fine"]
    assert err.value.failures[0][0].endswith("broken")


def test_events_are_immutable_and_serialisable():
    event = _deal()
    with pytest.raises(ValidationError):
        event.previous_stage = "x"  # type: ignore[misc]
    assert DealChanged.model_validate(event.model_dump(mode="json")) == event
