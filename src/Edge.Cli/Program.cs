using Edge.Cli;

return await Commands.RunAsync(args).ConfigureAwait(false);
