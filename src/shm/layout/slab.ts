// Layout of the slab structs: filled in by the slab work.
export {};
