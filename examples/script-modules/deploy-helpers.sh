# Functions every Bash script step of the template projects can call.
deploy_helper() {
  echo "Deploying $1 to #{Octopus.Environment.Name}"
}
