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
variable "pushgateway_scheme" {
  type = string
}
variable "pushgateway_server_name" {
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
        # By registry and digest, pulled where it is missing with the
        # login the client's Nomad reads (nomad_docker_auth_config), or the
        # tag built on each client, which is never pulled.
        force_pull = false
        # The client's Consul agent answers on the host's loopback.
        network_mode = "host"
      }

      env {
        CONSUL_HTTP_ADDR            = "http://127.0.0.1:8500"
        PUSHGATEWAY_SERVICE         = var.pushgateway_service
        PUSHGATEWAY_SCHEME          = var.pushgateway_scheme
        PUSHGATEWAY_TLS_SERVER_NAME = var.pushgateway_server_name
        # The task's secrets folder, mounted at /secrets in the container.
        PUSHGATEWAY_CA_FILE         = var.pushgateway_scheme == "https" ? "/secrets/pushgateway-ca.crt" : ""
        PUSH_JOB                    = var.push_job
      }

      # From a Nomad variable only this job can read (workload identity):
      # the Consul token that may read the Pushgateway's service, the
      # Pushgateway's user and password, and the CA of its certificate.
      template {
        data        = <<-EOT
          {{ with nomadVar "nomad/jobs/${var.job_name}" }}
          CONSUL_HTTP_TOKEN={{ .consul_token }}
          PUSHGATEWAY_USERNAME={{ .push_username }}
          PUSHGATEWAY_PASSWORD={{ .push_password }}
          {{ end }}
        EOT
        destination = "secrets/pushgateway.env"
        env         = true
      }

      template {
        data        = "{{ with nomadVar \"nomad/jobs/${var.job_name}\" }}{{ .push_ca }}{{ end }}\n"
        destination = "secrets/pushgateway-ca.crt"
      }

      resources {
        cpu    = var.cpu
        memory = var.memory
      }
    }
  }
}
