// Layout of the rcu structs: filled in by the rcu work.
export {};
