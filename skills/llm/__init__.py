"""The LLM runner and the skills that need judgement (issue 14).

- spec.py: what an LLM skill declares (instructions, the context fields it sends, its read
  tools, how it gathers its facts and its template fallback).
- skills.py: the four skills (interview-prep, interview-briefing, interview-followup,
  candidate-email-draft).
- tools.py: the read-only tools over the ATS read interface, scoped to the run's org.
- runner.py: the Messages API loop (tool use, stop reasons, the forced result tool, prompt
  caching) and the error mapping.
- pricing.py: tokens to dollars, from the price table in settings (with effective dates).
"""
