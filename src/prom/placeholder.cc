namespace hoist::prom {}
