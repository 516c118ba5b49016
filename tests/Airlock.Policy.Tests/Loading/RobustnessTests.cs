namespace Airlock.Policy.Tests.Loading;

/// <summary>Whatever the text, loading returns a result: never an exception, and a policy only without errors.</summary>
public class RobustnessTests
{
    private const string Alphabet = "{}[]:,-\"'&*!|>#%@`\\ \n\t?~0123456789abcdefghijklmnopqrstuvwxyz.";

    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(3)]
    public void Mutated_policies_never_throw(int seed)
    {
        var random = new Random(seed);
        foreach (var source in new[] { PolicyTexts.DesignExample, PolicyTexts.DesignExampleJson })
        {
            for (var i = 0; i < 300; i++)
            {
                var text = Mutate(source, random);

                var result = PolicyTexts.Yaml(text);

                Assert.Equal(result.Errors.Any(), result.Policy is null);
                Assert.All(result.Diagnostics, d => Assert.True(d.Location.Line >= 1 && d.Location.Column >= 1, d.ToString()));
            }
        }
    }

    [Theory]
    [InlineData("{")]
    [InlineData("}")]
    [InlineData("[")]
    [InlineData("'")]
    [InlineData("\"")]
    [InlineData("- - - -")]
    [InlineData("? ? ?")]
    [InlineData("!")]
    [InlineData("&")]
    [InlineData("*")]
    [InlineData("%YAML 1.2\n---\n")]
    [InlineData("...")]
    [InlineData("version: 1\n...\n---\n")]
    [InlineData(": [\ns]")]
    [InlineData("{\"version\": 1e999}")]
    [InlineData("{\"version\": -0}")]
    [InlineData("{\"\": {\"\": []}}")]
    [InlineData("version: 1\negress: [[[]]]\n")]
    [InlineData("version: 1\negress:\n  - allow: a.example.com\n    ports: 99999999999999999999\n")]
    [InlineData("version: 1\nredact: [\"(?<=a)b\", \"\\\\p{Zz}\", \"a{99999999}\"]\n")]
    public void Junk_is_an_error_not_an_exception(string text)
    {
        var result = PolicyTexts.Yaml(text);

        Assert.Null(result.Policy);
        Assert.NotEmpty(result.Errors);
    }

    private static string Mutate(string text, Random random)
    {
        var chars = text.ToList();
        var edits = random.Next(1, 6);
        for (var i = 0; i < edits; i++)
        {
            var at = random.Next(chars.Count);
            switch (random.Next(3))
            {
                case 0:
                    chars.RemoveAt(at);
                    break;
                case 1:
                    chars.Insert(at, Alphabet[random.Next(Alphabet.Length)]);
                    break;
                default:
                    chars[at] = Alphabet[random.Next(Alphabet.Length)];
                    break;
            }
        }

        return new string([.. chars]);
    }
}
