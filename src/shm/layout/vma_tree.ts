// Layout of the vma_tree structs: filled in by the vma_tree work.
export {};
