"""LLM backends."""

from distilabel_nb.llms.base import LLM, BackendUnavailable, Completion, GenerationParams, LLMOutput
from distilabel_nb.llms.llama_cpp import LlamaCppLLM
from distilabel_nb.llms.openai import OpenAILLM

__all__ = ["LLM", "BackendUnavailable", "Completion", "GenerationParams", "LLMOutput", "LlamaCppLLM", "OpenAILLM"]
