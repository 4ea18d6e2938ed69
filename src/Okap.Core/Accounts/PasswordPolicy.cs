namespace Okap.Core.Accounts;

/// <summary>
/// Which owner passwords the vault accepts: long enough, and not one a guesser tries first. Length is the main defence
/// (12 to 256 characters); on top of that the policy refuses the patterns that breached-password lists are made of: a
/// common password (also with leet substitutions and digits or symbols added around it), the user name or the
/// product's own name, one repeated chunk, and keyboard, alphabet or digit runs. It never compares against an online
/// list (the vault may run without internet) and a refusal never repeats the password.
/// </summary>
public static class PasswordPolicy
{
    /// <summary>Shortest password accepted.</summary>
    public const int MinLength = 12;

    /// <summary>Longest password accepted (a bound on hashing work, not a security limit).</summary>
    public const int MaxLength = 256;

    // The most common passwords of public breach corpora, lower-case, letters only where the original had a trailing
    // number (the trailing digits and symbols are stripped before comparing).
    private static readonly HashSet<string> Common = new(StringComparer.Ordinal)
    {
        "password", "passw", "pass", "passwd", "passphrase", "qwerty", "qwertz", "azerty", "letmein", "iloveyou",
        "admin", "administrator", "welcome", "dragon", "monkey", "football", "baseball", "soccer", "hockey", "master",
        "sunshine", "princess", "shadow", "superman", "batman", "trustno", "starwars", "whatever", "freedom", "secret",
        "login", "hello", "charlie", "michael", "jennifer", "jordan", "hunter", "ranger", "buster", "thomas", "tigger",
        "robert", "daniel", "ashley", "bailey", "mustang", "access", "flower", "cheese", "computer", "internet",
        "changeme", "default", "root", "toor", "user", "guest", "test", "testing", "summer", "winter", "spring",
        "autumn", "january", "february", "march", "april", "august", "september", "october", "november", "december",
        "lovely", "loveme", "ninja", "killer", "pepper", "ginger", "maggie", "cookie", "chocolate", "orange", "banana",
        "apple", "samsung", "google", "microsoft", "azure", "openai", "anthropic", "chatgpt", "claude", "gemini",
        "okap", "okapvault", "vault", "myvault", "keyvault", "apikey", "apikeys", "mypassword", "yourpassword",
        "newpassword", "oldpassword", "passwordpassword", "iloveu", "abc", "asdf", "zxcv", "qazwsx", "letmeinnow",
        "ihateyou", "fuckyou", "blink", "matrix", "liverpool", "chelsea", "arsenal", "barcelona", "madrid",
    };

    // Runs a person types by sliding along a row or counting; a password that is a piece of one (either way) is guessed
    // early.
    private static readonly string[] Runs =
    [
        "abcdefghijklmnopqrstuvwxyz", "01234567890", "qwertyuiop", "asdfghjkl", "zxcvbnm", "qwertzuiop", "azertyuiop",
        "1qaz2wsx3edc4rfv5tgb6yhn7ujm8ik9ol0p", "qazwsxedcrfvtgbyhnujmikolp", "!@#$%^&*()_+",
    ];

    private static readonly string[] RunsBothWays = [.. Runs, .. Runs.Select(run => new string(run.Reverse().ToArray()))];

    /// <summary>Null when <paramref name="password"/> may be used by <paramref name="userName"/>, else why not (never quoting it).</summary>
    public static string? Check(string? password, string? userName)
    {
        if (password is null || password.Length < MinLength || password.Length > MaxLength)
            return $"password: {MinLength} to {MaxLength} characters";
        var lower = password.ToLowerInvariant();
        var name = userName?.Trim().ToLowerInvariant();
        if (!string.IsNullOrEmpty(name) && name.Length >= 3 && (lower.Contains(name, StringComparison.Ordinal) || Deleet(lower).Contains(name, StringComparison.Ordinal)))
            return "password: must not contain your user name";
        if (DistinctCharacters(lower) < 5) return "password: uses too few different characters";
        if (IsRepeatedChunk(lower)) return "password: is one short piece repeated";
        var bare = Core(lower);
        if (bare.Length < 4) return "password: is only digits and symbols, or a short word inside them";
        var core = Deleet(bare);
        if (IsRun(core) || IsRun(bare)) return "password: is a keyboard, alphabet or digit sequence";
        // Leading symbols may be letter swaps too ("$unshine"), so the word is also read with only the tail stripped.
        var swappedHead = Deleet(lower.TrimEnd(Added)).Trim(Added);
        if (IsCommon(core) || IsCommon(swappedHead)) return "password: is a common password, or one with only digits, symbols or letter swaps added";
        return null;
    }

    private static int DistinctCharacters(string s)
    {
        var seen = new HashSet<char>();
        foreach (var c in s) seen.Add(c);
        return seen.Count;
    }

    private static bool IsRepeatedChunk(string s)
    {
        for (var size = 1; size <= s.Length / 2; size++)
        {
            if (s.Length % size != 0) continue;
            var repeated = true;
            for (var i = size; i < s.Length && repeated; i++) repeated = s[i] == s[i % size];
            if (repeated) return true;
        }
        return false;
    }

    // Undoes the substitutions every cracking rule set tries first.
    private static string Deleet(string s) => string.Create(s.Length, s, static (span, source) =>
    {
        for (var i = 0; i < source.Length; i++)
        {
            span[i] = source[i] switch
            {
                '0' => 'o', '1' => 'i', '!' => 'i', '3' => 'e', '4' => 'a', '@' => 'a', '5' => 's', '$' => 's', '7' => 't', '+' => 't',
                var other => other,
            };
        }
    });

    // The password without what guessers add around a word: digits, symbols and spaces at either end.
    private static string Core(string s) => s.Trim(Added);

    private static readonly char[] Added = " 0123456789!@#$%^&*()_+-=.,;:?~'\"/\\|[]{}<>`".ToCharArray();

    private static bool IsRun(string s)
    {
        if (s.Length < 3) return false;
        foreach (var run in RunsBothWays)
        {
            if (run.Contains(s, StringComparison.Ordinal)) return true;
        }
        return false;
    }

    private static bool IsCommon(string core)
    {
        var letters = new string(core.Where(c => c != ' ' && c != '-' && c != '_' && c != '.').ToArray());
        if (Common.Contains(letters)) return true;
        // One common word said twice or with a run or a year after it ("passwordqwerty", "dragondragon").
        foreach (var word in Common)
        {
            if (word.Length < 4 || !letters.StartsWith(word, StringComparison.Ordinal)) continue;
            var rest = letters[word.Length..];
            if (rest.Length == 0 || Common.Contains(rest) || IsRun(rest)) return true;
        }
        return false;
    }
}
