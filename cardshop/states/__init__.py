"""Order and task state machines: tables of allowed transitions plus one function applying them."""

from cardshop.states.cascade import ORDER_EVENTS, order_event
from cardshop.states.machine import IllegalTransition, Machine
from cardshop.states.orders import ORDER
from cardshop.states.tasks import CREATE_TASK, WRITE_TASK, task_machine

__all__ = ["CREATE_TASK", "IllegalTransition", "Machine", "ORDER", "ORDER_EVENTS", "WRITE_TASK",
           "order_event", "task_machine"]
