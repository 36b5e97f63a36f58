"""Visit times: naive Europe/Berlin wall-clock time in the database, aware at the edges."""
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from .. import formatting

#: All visits are planned in German local time.
VISIT_TIMEZONE = "Europe/Berlin"
BERLIN = ZoneInfo(VISIT_TIMEZONE)
#: The years a visit or session time may have. Python's datetime ends at the years 1
#: and 9999, so converting a time at either edge to Berlin time (or adding the calendar's
#: year of time zone rules) overflowed; no visit is planned outside these years.
MIN_YEAR, MAX_YEAR = 1900, 2200


def aware(value: datetime) -> datetime:
    """A stored naive Berlin time as an aware datetime (the right offset for that day)."""
    return value.replace(tzinfo=BERLIN)


def isoformat(value: datetime | None) -> str | None:
    """ISO 8601 with the Berlin offset of that day, e.g. 2027-04-20T09:30:00+02:00."""
    return aware(value).isoformat() if value is not None else None


def now_local() -> datetime:
    """The current Berlin wall-clock time, naive, comparable with stored visit times."""
    return datetime.now(BERLIN).replace(tzinfo=None)


def to_local(value: datetime) -> datetime:
    """Any datetime as naive Berlin time: aware values are converted, naive kept as they are."""
    if value.tzinfo is None:
        return value
    return value.astimezone(BERLIN).replace(tzinfo=None)


def days_between(start: datetime, end: datetime) -> list[date]:
    """Every calendar day from start's day to end's day, inclusive."""
    days, day, last = [], start.date(), end.date()
    while day < last:  # never a step past `last`, which may be the last day datetime has
        days.append(day)
        day += timedelta(days=1)
    if day == last:
        days.append(last)
    return days


def clamp_day(day: date) -> date:
    """`day` moved into the years MIN_YEAR..MAX_YEAR (rows stored before that rule may lie
    outside)."""
    return min(max(day, date(MIN_YEAR, 1, 1)), date(MAX_YEAR, 12, 31))


def at(day: date, clock: time) -> datetime:
    """Combine a day and a wall-clock time."""
    return datetime.combine(day, clock)


#: Wall-clock formatters of visit times, in the reader's language (exchange/formatting.py;
#: they format the naive Berlin times as they are, never shifted).
format_day = formatting.format_day
format_clock = formatting.format_clock
format_moment = formatting.format_moment
format_span = formatting.format_span


def format_visit_span(start: datetime, end: datetime) -> str:
    """"08.12.2026, 09:30–17:00" for one day, else both moments, in the reader's language."""
    return format_span(start, end, same_day_separator="–")
