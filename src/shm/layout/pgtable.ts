// Layout of the pgtable structs: filled in by the pgtable work.
export {};
