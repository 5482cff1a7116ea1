namespace hoist::lab {}
