// Benchmarks: each suite runs the project's path and its limit side by side in one process and prints ratios.
// Usage: dotnet run -c Release --project bench/Edge.Bench -- <suite> [options]; results go into docs/benchmarks.md.
Console.Error.WriteLine("usage: Edge.Bench <suite>  (suites are added by each area: outbox, publish, hub, routes, capture, inference, pipeline)");
return 2;
