// Scenarios run real processes on 2 cores: one collection for the assembly runs them one at a time.
[assembly: CollectionBehavior(CollectionBehavior.CollectionPerAssembly)]
