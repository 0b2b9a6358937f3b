"""Words for the numeric codes AMI sends: channel states, device states, hangup causes.

:func:`words` says what a header's number means (``16`` -> ``Normal Clearing``)
when the header is one of those codes; :func:`with_words` gives the value as the
display shows it, the number first: ``16 (Normal Clearing)``.
"""

from __future__ import annotations

from typing import Final

__all__ = ["CHANNEL_STATES", "DEVICE_STATES", "HANGUP_CAUSES", "with_words", "words"]

#: ``ChannelState`` (Asterisk's channel states).
CHANNEL_STATES: Final = {
    "0": "Down", "1": "Reserved", "2": "Off hook", "3": "Dialing", "4": "Ring",
    "5": "Ringing", "6": "Up", "7": "Busy", "8": "Dialing off hook", "9": "Pre-ring",
    "10": "Unknown",
}

#: A device's state: a queue member's ``Status``, ``DeviceState`` numbers.
DEVICE_STATES: Final = {
    "0": "Unknown", "1": "Not in use", "2": "In use", "3": "Busy", "4": "Invalid",
    "5": "Unavailable", "6": "Ringing", "7": "Ringing, in use", "8": "On hold",
}

#: Hangup ``Cause`` (ITU-T Q.850 cause values).
HANGUP_CAUSES: Final = {
    "0": "Not defined", "1": "Unallocated number", "2": "No route to network",
    "3": "No route to destination", "5": "Misdialled trunk prefix",
    "6": "Channel unacceptable", "7": "Call awarded, delivered", "8": "Pre-emption",
    "14": "Number ported, not here", "16": "Normal Clearing", "17": "User busy",
    "18": "No user responding", "19": "No answer", "20": "Subscriber absent",
    "21": "Call rejected", "22": "Number changed", "23": "Redirected",
    "26": "Answered elsewhere", "27": "Destination out of order",
    "28": "Invalid number format", "29": "Facility rejected",
    "30": "Response to status enquiry", "31": "Normal, unspecified",
    "34": "No circuit available", "38": "Network out of order", "41": "Temporary failure",
    "42": "Congestion", "43": "Access information discarded",
    "44": "Requested channel not available", "50": "Facility not subscribed",
    "52": "Outgoing call barred", "54": "Incoming call barred",
    "57": "Bearer capability not authorised", "58": "Bearer capability not available",
    "65": "Bearer capability not implemented", "66": "Channel type not implemented",
    "69": "Facility not implemented", "81": "Invalid call reference",
    "88": "Incompatible destination", "95": "Invalid message",
    "96": "Mandatory element missing", "97": "Message type nonexistent",
    "98": "Wrong message", "99": "Element nonexistent", "100": "Invalid element contents",
    "101": "Wrong call state", "102": "Recovery on timer expiry",
    "103": "Mandatory element length error", "111": "Protocol error", "127": "Interworking",
}

_BY_KEY: Final = {
    "channelstate": CHANNEL_STATES,
    "cause": HANGUP_CAUSES,
    "hangupcause": HANGUP_CAUSES,
}


def words(event: str, key: str, value: str) -> str | None:
    """What ``value`` of header ``key`` in event (or list item) ``event`` means,
    when it is a code this module knows; else None."""
    low = key.lower()
    table = _BY_KEY.get(low)
    if table is None and low == "status" and event.lower().startswith("queuemember"):
        table = DEVICE_STATES
    if table is None:
        return None
    return table.get(value.strip())


def with_words(event: str, key: str, value: str) -> str:
    """``value`` followed by its meaning in brackets (``16 (Normal Clearing)``), or
    ``value`` as it is."""
    meaning = words(event, key, value)
    return f"{value} ({meaning})" if meaning else value
