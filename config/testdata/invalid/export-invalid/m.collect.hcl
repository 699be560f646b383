matter "m" {}

tenant {
  cloud = "demo"
}

custodian "jdoe" {
  email = "jdoe@demo.collect.invalid"
}

export {
  prefix  = "AC ME"
  digits  = 20
  dedupe  = "globl"
  profile = "relativty"
  drop    = ["BCC", "SUBJCT", "DOCID"]
  rename = {
    BCC     = "BLIND"
    TO      = "RECIPIENTS"
    CC      = "recipients"
    FROM    = "1FROM"
  }
}
