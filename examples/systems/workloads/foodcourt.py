"""Foodcourt's critical queries (the docs/systems.md example), as a plain workload."""

from harness.workload import Operation, Params, Workload, find, insert_one


def sample(p: Params) -> None:
    p.values("customers", "customers", ["email", "customer_id"])
    p.values("restaurants", "restaurants", ["restaurant_id"])


def login(p: Params):
    """find a customer by email"""
    return find("customers", {"email": p.pick("customers")["email"]}, limit=1)


def order_history(p: Params):
    """a customer's latest orders"""
    return find("orders", {"customer_id": p.pick("customers")["customer_id"]}, sort=[("placed_at", -1)], limit=20)


def open_orders(p: Params):
    """a restaurant's open orders"""
    return find("orders", {"restaurant_id": p.pick("restaurants")["restaurant_id"], "status": "open"})


def place_order(p: Params):
    """a customer places an order (a write)"""
    return insert_one("orders", {"order_id": p.uuid(), "customer_id": p.pick("customers")["customer_id"],
                                 "restaurant_id": p.pick("restaurants")["restaurant_id"], "placed_at": p.now(),
                                 "status": "open", "items": [{"dish": "ramen", "qty": 1, "price": 12.5}],
                                 "total": 12.5})


WORKLOAD = Workload(system="foodcourt", sample=sample, operations=[
    Operation(login, sla_ms=50, freq="high", note="assumed; unique email index"),
    Operation(order_history, sla_ms=100, freq="high", note="assumed; (customer_id, placed_at desc)"),
    Operation(open_orders, sla_ms=100, freq="medium", note="assumed; partial index on open orders"),
    Operation(place_order, sla_ms=100, freq="low", note="assumed; one insert"),
])
FoodcourtUser = WORKLOAD.locust_user()
