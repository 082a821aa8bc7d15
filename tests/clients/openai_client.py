"""The real `openai` Python package against a lodestar server (run by the Rust test
`openai_python_client` in lodestar-server, which starts the server on a loopback port).

Environment: OPENAI_BASE_URL (http://127.0.0.1:PORT/v1) and OPENAI_API_KEY. Prints one JSON
line with what it saw; the Rust test checks it.
"""
import json

from openai import OpenAI

client = OpenAI()
seen = {}
seen["models"] = [m.id for m in client.models.list().data]

question = [{"role": "user", "content": "全钢胎质保期是多久？"}]
r = client.chat.completions.create(model="lodestar", messages=question)
extra = r.model_extra or {}
seen["answer"] = r.choices[0].message.content
seen["finish_reason"] = r.choices[0].finish_reason
seen["usage_total"] = r.usage.total_tokens
seen["citations"] = [c["doc"] for c in extra.get("lodestar", {}).get("citations", [])]

stream = client.chat.completions.create(
    model="lodestar", messages=question, stream=True, stream_options={"include_usage": True}
)
parts, finish, usage, lodestar = [], None, None, None
for chunk in stream:
    if chunk.usage is not None:
        usage = chunk.usage.total_tokens
    for choice in chunk.choices:
        if choice.delta.content:
            parts.append(choice.delta.content)
        if choice.finish_reason:
            finish = choice.finish_reason
    if (chunk.model_extra or {}).get("lodestar"):
        lodestar = chunk.model_extra["lodestar"]
seen["stream_text"] = "".join(parts)
seen["stream_finish"] = finish
seen["stream_usage"] = usage
seen["stream_citations"] = [c["doc"] for c in (lodestar or {}).get("citations", [])]

e = client.embeddings.create(model="e5-small", input=["全钢胎", "query: 质保期"])
seen["embeddings"] = [len(d.embedding) for d in e.data]

print(json.dumps(seen, ensure_ascii=False))
