using Spectre.Console;

namespace Airlock.Cli.Console;

/// <summary>Creates Spectre consoles over the command's writers: colour on a terminal, plain text otherwise.</summary>
internal static class Terminal
{
    public static IAnsiConsole Over(TextWriter writer)
    {
        var interactive = ReferenceEquals(writer, System.Console.Out) && !System.Console.IsOutputRedirected
            || ReferenceEquals(writer, System.Console.Error) && !System.Console.IsErrorRedirected;
        var noColor = !string.IsNullOrEmpty(Environment.GetEnvironmentVariable("NO_COLOR"));
        var console = AnsiConsole.Create(new AnsiConsoleSettings
        {
            Out = new AnsiConsoleOutput(writer),
            Ansi = interactive && !noColor ? AnsiSupport.Detect : AnsiSupport.No,
            ColorSystem = interactive && !noColor ? ColorSystemSupport.Detect : ColorSystemSupport.NoColors,
            Interactive = InteractionSupport.No,
        });

        // Spectre wraps at 80 columns when it cannot ask a terminal; piped output must keep one line per line.
        if (!interactive)
        {
            console.Profile.Width = 1024;
        }

        return console;
    }
}
