"""The kinds of notification, and who may receive each."""

from cardshop.auth import roles

# What an operator may subscribe to (the `notify` list on their user), with what each tells.
OPERATOR_KINDS = {
    "order_written": "every card of an order is written and verified: take them out and ship them",
    "order_failed": "an order failed (its image could not be made, or its cards not written)",
    "order_stranded": "an order is stuck: nothing moves it on (the beat's reconcile found it)",
    "slot_refused": "a writer slot refuses the card in it",
    "host_offline": "a writer host stopped sending heartbeats",
}
# To the order's recipient, not subscribed to.
RECIPIENT_KINDS = {"order_shipped": "the cards left, with the tracking details"}
KINDS = {**OPERATOR_KINDS, **RECIPIENT_KINDS}
# The people who run the shop; machine accounts (creators, writers, system) get no mail.
SUBSCRIBER_ROLES = roles.OPERATORS
