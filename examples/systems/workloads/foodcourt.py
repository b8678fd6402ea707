"""Foodcourt's critical queries (the docs/systems.md example), as a Locust workload."""

from harness.bench import MongoUser, Params, critical, find


class FoodcourtUser(MongoUser):
    system = "foodcourt"

    @classmethod
    def sample(cls, p: Params) -> None:
        p.values("customers", "customers", ["email", "customer_id"])
        p.values("restaurants", "restaurants", ["restaurant_id"])

    @critical(sla_ms=50, freq="high", note="assumed; unique email index")
    def login(self, p: Params):
        """find a customer by email"""
        return find("customers", {"email": p.pick("customers")["email"]}, limit=1)

    @critical(sla_ms=100, freq="high", note="assumed; (customer_id, placed_at desc)")
    def order_history(self, p: Params):
        """a customer's latest orders"""
        return find("orders", {"customer_id": p.pick("customers")["customer_id"]}, sort=[("placed_at", -1)],
                    limit=20)

    @critical(sla_ms=100, freq="medium", note="assumed; partial index on open orders")
    def open_orders(self, p: Params):
        """a restaurant's open orders"""
        return find("orders", {"restaurant_id": p.pick("restaurants")["restaurant_id"], "status": "open"})
