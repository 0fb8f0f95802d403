"""The REST API's routers, one per area; each route calls exactly one use case."""
