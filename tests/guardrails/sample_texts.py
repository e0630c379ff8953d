# ruff: noqa: E501  (paragraphs are one line each, as models write them)
"""Realistic model outputs that no guardrail and no drift signal should flag."""

PROSE = """Streaming responses arrive as a sequence of small chunks, and each chunk usually carries a few characters of text. A client that wants to show progress to the user can render every chunk as soon as it arrives, but it also has to cope with the network: connections drop, servers return errors, and sometimes the model simply stops sending tokens for a while. The usual answer is a retry with exponential backoff, which waits a little longer after each failure so that a struggling server gets time to recover.

There is a subtle problem with retries, though. If the first attempt already produced half of the answer, starting over from scratch wastes that work and makes the user watch the same text appear twice. A better approach saves a checkpoint of the text that passed validation and asks the model to continue from there. Models are not perfect at continuing, so the first words of the continuation often repeat the end of the checkpoint; removing that overlap keeps the final text clean.

Finally, it helps to keep an eye on the content itself. A model may start to loop, repeating the same sentence again and again, or it may drift into commentary about itself instead of answering. Cheap checks that run while the text streams can catch these cases early, long before the response is complete, and turn them into a retry instead of a wasted answer."""

STORY = """The lighthouse keeper had not seen a ship in eleven days. Each evening she climbed the spiral stairs, trimmed the wick, and wiped the salt from the great lens until it shone. The fog came in thick from the north, rolling over the rocks like a slow gray tide, and she listened for the low moan of a horn that never came.

On the twelfth night, something changed. A small light blinked far out on the water, once, twice, then steadily. She counted the seconds between flashes, as her father had taught her, and recognized the pattern of the supply boat. By morning it had rounded the point, its deck stacked with crates of oil, flour, and a bundle of letters tied with string. She read them slowly on the steps, one after another, while the gulls argued overhead."""

CODE_ANSWER = """Here is a small function that retries an async operation with exponential backoff:

```python
import asyncio
import random

async def retry(operation, attempts=3, base_delay=0.5):
    for attempt in range(attempts):
        try:
            return await operation()
        except ConnectionError:
            if attempt == attempts - 1:
                raise
            delay = base_delay * (2 ** attempt) * random.uniform(0.8, 1.2)
            await asyncio.sleep(delay)
```

The delay doubles after each failure, and the random factor spreads retries from many clients over time so that they do not all hit the server at once. Call it with a zero-argument coroutine function, for example `await retry(lambda: fetch(url))`."""

LIST_ANSWER = """## Steps to deploy

1. Build the image with `docker build -t app .` and tag it with the release version.
2. Push the image to the registry and check that the digest matches the local one.
3. Update the deployment manifest with the new tag and apply it to the staging cluster.
4. Watch the rollout status until every pod reports ready, then run the smoke tests.

| Environment | Replicas | Region |
|-------------|----------|--------|
| staging     | 2        | eu-west-1 |
| production  | 6        | eu-west-1 |

- Keep the previous image around for a quick rollback.
- Tag releases in git so the image and the source stay in sync."""

JSON_ANSWER = """{"users": [{"id": 1, "name": "Ada Lovelace", "email": "ada@example.com", "roles": ["admin", "editor"]}, {"id": 2, "name": "Alan Turing", "email": "alan@example.com", "roles": ["viewer"]}], "total": 2, "next": null, "note": "brackets in strings like {this} and [that] are fine"}"""

GERMAN = """Die Verarbeitung von Datenströmen verlangt eine sorgfältige Planung. Jedes Paket enthält nur wenige Zeichen, und der Client muss damit rechnen, dass die Verbindung jederzeit abbricht. Eine bewährte Strategie ist die wiederholte Anfrage mit wachsender Wartezeit, damit ein überlasteter Server Zeit zur Erholung bekommt. Außerdem lohnt es sich, den bereits empfangenen Text zu sichern, damit ein neuer Versuch nicht wieder von vorne beginnen muss."""

LATEX_ANSWER = r"""Here is a minimal document with a list and an equation:

\documentclass{article}
\begin{document}
\section{Results}
\begin{itemize}
  \item The mean is $\mu = 4.2$.
  \item The variance is given by
  \begin{equation}
    \sigma^2 = \frac{1}{n}\sum_{i=1}^{n} (x_i - \mu)^2
  \end{equation}
\end{itemize}
Use `\begin{enumerate}` instead of `\begin{itemize}` for a numbered list.
\end{document}
"""

ALL = {
    "prose": PROSE,
    "story": STORY,
    "code": CODE_ANSWER,
    "list": LIST_ANSWER,
    "json": JSON_ANSWER,
    "german": GERMAN,
    "latex": LATEX_ANSWER,
}
