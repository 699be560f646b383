matter "m" {}

tenant {
  cloud = "demo"
}

window "relevant" {
  start = "2024-01-01"
}
