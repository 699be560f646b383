variable "tenant_id" {
  type        = string
  description = "Entra ID tenant of Acme Corp."
  default     = "acme.onmicrosoft.com"
}

variable "client_id" {
  type        = string
  description = "Application (client) ID of the collection app registration"
  default     = "6f1c2a3b-4d5e-4f60-8a7b-9c0d1e2f3a4b"
}

variable "relevant_start" {
  type        = string
  description = "Start of the relevant period in the hold notice"
  default     = "2023-06-01"

  validation {
    condition     = can(regex("^\\d{4}-\\d{2}-\\d{2}$", var.relevant_start))
    error_message = "relevant_start must be a date written YYYY-MM-DD."
  }
}

variable "hold_date" {
  type        = string
  description = "Date the litigation hold notice went out"
  default     = "2024-03-15"
}
