using System.Text;

namespace Airlock.Client;

/// <summary>A query string built from the parameters that have values, each escaped.</summary>
internal sealed class QueryString
{
    private readonly StringBuilder _text = new();

    public void Add(string name, string? value)
    {
        if (value is null)
        {
            return;
        }

        _text.Append(_text.Length == 0 ? '?' : '&').Append(name).Append('=').Append(Uri.EscapeDataString(value));
    }

    public override string ToString() => _text.ToString();
}
