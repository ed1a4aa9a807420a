using System.Reflection;
using Edge.Bench;

// Benchmarks: each suite runs the project's path and its limit side by side in one process and prints ratios.
// Usage: dotnet run -c Release --project bench/Edge.Bench -- <suite> [options]; results go into docs/benchmarks.md.
var suites = typeof(IBenchSuite).Assembly.GetTypes()
    .Where(t => t is { IsClass: true, IsAbstract: false } && typeof(IBenchSuite).IsAssignableFrom(t))
    .Select(t => (IBenchSuite)Activator.CreateInstance(t)!)
    .OrderBy(s => s.Name, StringComparer.Ordinal)
    .ToList();

var suite = args.Length > 0 ? suites.FirstOrDefault(s => s.Name == args[0]) : null;
if (suite is null)
{
    Console.Error.WriteLine("usage: Edge.Bench <suite> [options]\n\nsuites:");
    foreach (var s in suites)
    {
        Console.Error.WriteLine($"  {s.Name,-12} {s.Description}");
    }

    return 2;
}

Console.WriteLine($"# {suite.Name} — {Environment.ProcessorCount} cores, {System.Runtime.InteropServices.RuntimeInformation.OSDescription}, .NET {Environment.Version}, {Assembly.GetEntryAssembly()!.GetName().Version}");
return await suite.RunAsync(args[1..]);
