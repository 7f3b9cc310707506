// Layout of the mm structs: filled in by the mm work.
export {};
