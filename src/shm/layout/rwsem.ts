// Layout of the rwsem structs: filled in by the rwsem work.
export {};
