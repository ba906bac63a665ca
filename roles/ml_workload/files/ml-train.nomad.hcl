# The training job: parameterized batch job, one run per dispatch.
# Registered by the ml_workload role with mlops.stack.nomad_job; the
# variables below come from the role's ml_workload_* settings.
variable "job_name" {
  type = string
}
variable "datacenters" {
  type = list(string)
}
variable "image" {
  type = string
}
variable "model_name" {
  type = string
}
variable "epochs" {
  type = number
}
variable "learning_rate" {
  type = number
}
variable "cpu" {
  type = number
}
variable "memory" {
  type = number
}
variable "pushgateway_service" {
  type = string
}
variable "push_job" {
  type = string
}

job "ml-train" {
  name        = var.job_name
  type        = "batch"
  datacenters = var.datacenters

  parameterized {
    meta_optional = ["MODEL_NAME", "TRAINING_EPOCHS", "LEARNING_RATE"]
  }

  # Defaults of a dispatch; `nomad job dispatch -meta KEY=VALUE` overrides them.
  meta {
    MODEL_NAME      = var.model_name
    TRAINING_EPOCHS = var.epochs
    LEARNING_RATE   = var.learning_rate
  }

  group "train" {
    # A failed run is tried again once in place, then on another client.
    restart {
      attempts = 1
      delay    = "10s"
      mode     = "fail"
    }

    reschedule {
      attempts  = 1
      interval  = "1h"
      delay     = "10s"
      unlimited = false
    }

    task "train" {
      driver = "docker"

      config {
        image = var.image
        # The image is built on each client; never pulled.
        force_pull = false
        # The client's Consul agent answers on the host's loopback.
        network_mode = "host"
      }

      env {
        CONSUL_HTTP_ADDR    = "http://127.0.0.1:8500"
        PUSHGATEWAY_SERVICE = var.pushgateway_service
        PUSH_JOB            = var.push_job
      }

      # The Consul token that may read the Pushgateway's service, from a
      # Nomad variable only this job can read (workload identity).
      template {
        data        = "{{ with nomadVar \"nomad/jobs/${var.job_name}\" }}CONSUL_HTTP_TOKEN={{ .consul_token }}{{ end }}\n"
        destination = "secrets/consul.env"
        env         = true
      }

      resources {
        cpu    = var.cpu
        memory = var.memory
      }
    }
  }
}
