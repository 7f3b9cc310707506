// Layout of the sync structs: filled in by the sync work.
export {};
