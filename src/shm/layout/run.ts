// Layout of the run structs: filled in by the run work.
export {};
